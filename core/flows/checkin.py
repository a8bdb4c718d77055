"""A guardian answering a check-in, step by step, channel-neutral: a choice (the item's position
and the answer's value) goes in; one answer is stored (and committed by the caller before
anything is said), a red answer's alert and safety message reserved, completion scored with its
alerts, a fitting lesson, the note question and a follow-up's result for the case — and what to
show next comes back as plain data (a QuestionView). Orchestrates the check-in, alert and
lesson domains; the bot's handlers and a web page only translate."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts.cases import followup_finished
from core.checkin import service
from core.checkin.rules import highest_severity
from core.checkin.free_text import ask_for_note
from core.checkin.safety import SafetyMessage, reserve_safety_message
from core.checkin.service import ANSWERABLE
from core.checkin.suggest import send_fitting_lesson
from core.checkin.views import QuestionView, question_view
from core.delivery.outbox import CANCELLED, LANE_CHECKIN, PENDING, enqueue
from core.errors import NotFound
from core.messages import MessageKind
from core.models import Alert, CheckIn, Child, Delivery, Guardian


@dataclass
class OtherMessage:
    """A check-in message another guardian of the household got: edited, without content, to say
    it is being answered or has been answered."""

    address: str
    message_id: str  # the provider's id of the message to edit
    locale: str
    guardian_id: int | None = None


@dataclass
class Step:
    checkin: CheckIn
    question: QuestionView | None  # what to ask next; None when the check-in is complete
    safety: tuple[Delivery, SafetyMessage] | None = None  # send this now (a red answer)
    alerts: list[Alert] = field(default_factory=list)
    completed: bool = False
    lesson: Delivery | None = None  # a fitting lesson, queued
    claimed_now: bool = False  # this answer claimed the check-in: tell the others
    others: list[OtherMessage] = field(default_factory=list)
    # The outbox rows (MessageKind.CHECKIN_TAKEN) that edit the others' messages: the caller may deliver them at
    # once (core.delivery.sender.deliver_now); otherwise the sender does.
    taken: list[Delivery] = field(default_factory=list)


async def _nickname(session: AsyncSession, checkin: CheckIn) -> str | None:
    if checkin.child_id is None:
        return None
    return await session.scalar(select(Child.nickname).where(Child.id == checkin.child_id))


async def view_at(session: AsyncSession, *, checkin: CheckIn, index: int, locale: str) -> QuestionView:
    q = await service.get_questionnaire(session, questionnaire_id=checkin.questionnaire_id,
                                        version=checkin.questionnaire_version)
    return question_view(q, checkin_id=checkin.id, index=index, locale=locale,
                         nickname=await _nickname(session, checkin),
                         answers=await service.answers_by_item(session, checkin.id))


async def item_id_at(session: AsyncSession, *, checkin_id: int, index: int) -> str:
    checkin = await session.get(CheckIn, checkin_id)
    if checkin is None:
        raise NotFound("check-in not found")
    q = await service.get_questionnaire(session, questionnaire_id=checkin.questionnaire_id,
                                        version=checkin.questionnaire_version)
    if not 0 <= index < len(q.items):
        raise NotFound("no such question")
    return q.items[index].id


async def other_messages(session: AsyncSession, *, checkin: CheckIn, guardian_id: int) -> list[OtherMessage]:
    rows = await session.execute(
        select(Delivery.address, Delivery.provider_message_id, Guardian.locale, Guardian.id)
        .join(Guardian, Guardian.id == Delivery.guardian_id)
        .where(Delivery.kind.in_([MessageKind.CHECKIN, MessageKind.CHECKIN_REMINDER]), Delivery.about("checkin", checkin.id),
               Delivery.guardian_id != guardian_id, Delivery.provider_message_id.is_not(None))
    )
    return [OtherMessage(address, message_id, locale, other_id) for address, message_id, locale, other_id in rows
            if message_id is not None]  # always, by the query


async def tell_others(session: AsyncSession, *, checkin: CheckIn, others: list[OtherMessage], done: bool,
                      now: datetime) -> list[Delivery]:
    """Queue the edits of the others' messages (lane 1, where each message is). A "has been
    answered" edit replaces a "being answered" one still waiting for the same message."""
    rows = []
    for other in others:
        ref = f"checkin:{checkin.id}:{other.message_id}"
        if done:
            await session.execute(
                update(Delivery)
                .where(Delivery.address == other.address, Delivery.kind == MessageKind.CHECKIN_TAKEN, Delivery.ref == ref,
                       Delivery.cycle == "taken", Delivery.state == PENDING)
                .values(state=CANCELLED, finished_at=now, last_error="superseded")
                .execution_options(synchronize_session=False))
        row = await enqueue(session, address=other.address, kind=MessageKind.CHECKIN_TAKEN, ref=ref,
                            cycle="done" if done else "taken", lane=LANE_CHECKIN, due_at=now, now=now,
                            guardian_id=other.guardian_id, cohort_id=checkin.cohort_id,
                            payload={"message_id": other.message_id, "done": done})
        if row is not None:
            rows.append(row)
    return rows


async def answer(session: AsyncSession, *, checkin_id: int, index: int, value: int, guardian: Guardian,
                 now: datetime) -> Step:
    item_id = await item_id_at(session, checkin_id=checkin_id, index=index)
    claimed_before = (await session.get(CheckIn, checkin_id)).claimed_by_guardian_id  # type: ignore[union-attr]
    result = await service.record_answer(session, checkin_id=checkin_id, guardian_id=guardian.id, item_id=item_id,
                                         value=value, now=now)
    checkin = result.checkin
    step = Step(checkin=checkin, question=None, alerts=list(result.alerts))
    if result.alerts:
        step.safety = await reserve_safety_message(session, guardian=guardian, cohort_id=checkin.cohort_id,
                                                   ref=f"checkin:{checkin.id}:{item_id}", now=now)
    step.claimed_now = claimed_before is None and checkin.claimed_by_guardian_id == guardian.id
    if result.done and checkin.claimed_by_guardian_id == guardian.id and checkin.state in ANSWERABLE:
        completion = await service.complete_checkin(session, checkin_id=checkin.id, now=now)
        step.completed = True
        step.alerts += [a for a in completion.alerts if a not in step.alerts]
        ask_for_note(checkin)
        step.lesson = await send_fitting_lesson(session, checkin=checkin, fired=completion.fired, guardian=guardian,
                                                now=now)
        if checkin.case_id is not None:
            await followup_finished(session, checkin=checkin, rules=[f.rule_id for f in completion.fired],
                                    severity=highest_severity(completion.fired), now=now)
    elif result.next_item is not None and checkin.claimed_by_guardian_id == guardian.id:
        q = await service.get_questionnaire(session, questionnaire_id=checkin.questionnaire_id,
                                            version=checkin.questionnaire_version)
        index_next = next(i for i, item in enumerate(q.items) if item.id == result.next_item)
        step.question = await view_at(session, checkin=checkin, index=index_next, locale=guardian.locale)
    if step.claimed_now or step.completed:
        step.others = await other_messages(session, checkin=checkin, guardian_id=guardian.id)
        step.taken = await tell_others(session, checkin=checkin, others=step.others, done=step.completed, now=now)
    await session.flush()
    return step


async def back(session: AsyncSession, *, checkin_id: int, guardian: Guardian, now: datetime) -> QuestionView | None:
    item_id = await service.go_back(session, checkin_id=checkin_id, guardian_id=guardian.id, now=now)
    if item_id is None:
        return None
    checkin = await session.get(CheckIn, checkin_id)
    assert checkin is not None
    return await view_at(session, checkin=checkin, index=checkin.cursor, locale=guardian.locale)


async def open_for(session: AsyncSession, *, guardian: Guardian, now: datetime) -> list[CheckIn]:
    """Check-ins this guardian may answer now, oldest first: about themself, or about a child of
    their household that nobody else has started."""
    rows = await session.scalars(
        select(CheckIn)
        .where(CheckIn.household_id == guardian.household_id, CheckIn.state.in_(ANSWERABLE),
               CheckIn.expires_at > now,
               (CheckIn.subject_guardian_id == guardian.id)
               | (CheckIn.subject_guardian_id.is_(None)
                  & (CheckIn.claimed_by_guardian_id.is_(None) | (CheckIn.claimed_by_guardian_id == guardian.id))))
        .order_by(CheckIn.due_at, CheckIn.id)
    )
    return list(rows.all())


async def current_question(session: AsyncSession, *, checkin: CheckIn, guardian: Guardian) -> QuestionView | None:
    q = await service.get_questionnaire(session, questionnaire_id=checkin.questionnaire_id,
                                        version=checkin.questionnaire_version)
    if checkin.cursor >= len(q.items):
        return None
    return await view_at(session, checkin=checkin, index=checkin.cursor, locale=guardian.locale)
