"""The check-in conversation driven without any adapter (core.flows.checkin): the first question
comes from the flow, each answer is a choice (the item's position, the value), and the result
says what to ask next — a red answer reserves the safety message at once, the last answer
completes the check-in. What a web page would do; no aiogram anywhere."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FrozenClock
from core.flows import checkin as flow
from core.flows.delivery import sender_hooks
from core.models import Alert, CheckIn
from tests.core.checkin_fixtures import seed_village
from tests.core.test_checkin_answers import open_one


async def test_a_weekly_check_in_answered_through_the_flow(session: AsyncSession, clock: FrozenClock,
                                                          loaded_content: None) -> None:
    v = await seed_village(session, now=clock())
    checkin = await open_one(session, v, "weekly_checkin", v.older.id, clock())
    view = await flow.view_at(session, checkin=checkin, index=0, locale="en")
    assert (view.index, view.number, view.can_go_back) == (0, 1, False) and view.choices
    asked, safety_at = [], None
    for _ in range(view.total + 5):
        asked.append(view.index)
        red = await flow.item_id_at(session, checkin_id=checkin.id, index=view.index) == "safety"
        value = view.choices[2][0] if red else view.choices[0][0]  # "yes – someone hurt them"
        step = await flow.answer(session, checkin_id=checkin.id, index=view.index, value=value, guardian=v.grandma,
                                 now=clock())
        if step.safety is not None:
            safety_at = view.index
        if step.completed:
            break
        assert step.question is not None and step.question.index > view.index
        view = step.question
    assert step.completed and step.question is None
    assert safety_at is not None and asked[-1] >= safety_at
    assert (await session.get(CheckIn, checkin.id)).state == "completed"  # type: ignore[union-attr]
    severities = {a.severity for a in (await session.scalars(select(Alert))).all()}
    assert "red" in severities


async def test_back_shows_the_previous_answer(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    checkin = await open_one(session, v, "weekly_checkin", v.older.id, clock())
    first = await flow.view_at(session, checkin=checkin, index=0, locale="zh-Hans")
    await flow.answer(session, checkin_id=checkin.id, index=0, value=first.choices[2][0], guardian=v.grandma,
                      now=clock())
    again = await flow.back(session, checkin_id=checkin.id, guardian=v.grandma, now=clock())
    assert again is not None and (again.index, again.current) == (0, first.choices[2][0])


async def test_the_others_are_told_through_outbox_edits(session: AsyncSession, clock: FrozenClock) -> None:
    """"Someone in your family is answering" is an outbox row (an edit where the message is, never
    moved to another endpoint); "has answered" replaces a "being answered" still waiting."""
    v = await seed_village(session, now=clock())
    checkin = await open_one(session, v, "weekly_checkin", v.older.id, clock())
    other = flow.OtherMessage(address="telegram:77", message_id="901", locale="en")
    [taken] = await flow.tell_others(session, checkin=checkin, others=[other], done=False, now=clock())
    assert (taken.kind, taken.state, taken.lane, taken.address, taken.payload) == (
        "checkin_taken", "pending", 1, "telegram:77", {"message_id": "901", "done": False})
    [done] = await flow.tell_others(session, checkin=checkin, others=[other], done=True, now=clock())
    await session.refresh(taken)
    assert (taken.state, taken.last_error) == ("cancelled", "superseded")
    assert (done.state, done.payload) == ("pending", {"message_id": "901", "done": True})
    assert await flow.tell_others(session, checkin=checkin, others=[other], done=True, now=clock()) == []  # once
    assert "checkin_taken" in sender_hooks().edit_kinds
