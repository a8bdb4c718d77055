"""A guardian's lessons: /lesson on request, feedback, the 'did you try it?' answer, history."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.catalog.service import LessonPlanner, audience_for, household_bands
from core.delivery import outbox
from core.errors import Conflict, Invalid, NotFound
from core.messages import MessageKind
from core.models import Cohort, Delivery, Guardian, Household, Lesson, LessonFeedback

QUESTIONS = {"helpful": ("yes", "no"), "tried": ("yes", "not_yet", "no")}


@dataclass
class LessonToSend:
    delivery: Delivery
    content: dict[str, Any]


async def lessons_done(session: AsyncSession, *, guardian_id: int) -> set[str]:
    rows = await session.scalars(
        select(Delivery.lesson_id).where(
            Delivery.guardian_id == guardian_id,
            Delivery.kind == MessageKind.LESSON,
            Delivery.lesson_id.is_not(None),
            Delivery.state.in_([outbox.SENT, outbox.SENDING, outbox.PENDING]),
        )
    )
    return {lesson_id for lesson_id in rows.all() if lesson_id is not None}


async def take_next_lesson(session: AsyncSession, *, guardian: Guardian, address: str,
                           now: datetime) -> LessonToSend | None:
    """/lesson: the guardian's next lesson now, to the address they asked from, counted like a
    scheduled one (it moves them on in their programme). The row is reserved for the caller
    ('sending' under its lease), who delivers it at once (core.delivery.sender.deliver_now)."""
    planner = await LessonPlanner.load(session)
    cohort = await session.scalar(
        select(Cohort).join(Household, Household.cohort_id == Cohort.id).where(Household.id == guardian.household_id)
    )
    cohort_id = cohort.id if cohort else None
    bands = await household_bands(session, household_ids=[guardian.household_id], today=now.date())
    lesson = planner.next_lesson(
        audience=audience_for(guardian.lives_with_children),
        bands=bands.get(guardian.household_id, []),
        done=await lessons_done(session, guardian_id=guardian.id),
        programmes=cohort.programmes if cohort else None,
    )
    if lesson is None:
        return None
    # Keyed by the lesson: two /lesson taps handled at once pick the same lesson and only one
    # row (and one message) comes of it; an earlier failed try of this lesson is reused.
    key = {"address": address, "kind": MessageKind.LESSON, "ref": "request", "cycle": f"{lesson.id}@{lesson.version}"}
    existing = await session.scalar(select(Delivery).filter_by(**key))
    if existing is not None:
        if existing.state != outbox.FAILED:
            raise Conflict("this lesson is already on its way", code="lesson_in_progress")
        outbox.reserve(existing, now=now)
        delivery = existing
    else:
        inserted = await session.execute(
            outbox._insert(session)
            .values(**key, guardian_id=guardian.id, cohort_id=cohort_id, lane=outbox.LANE_LESSON,
                    state=outbox.SENDING, due_at=now, attempts=0, payload={}, lesson_id=lesson.id,
                    lesson_version=lesson.version, created_at=now, claimed_at=now,
                    lease_until=outbox.lease_until(lane=outbox.LANE_LESSON, now=now))
            .on_conflict_do_nothing(index_elements=outbox.KEY)
            .returning(Delivery.id)
        )
        new_id = inserted.scalar()
        if new_id is None:
            raise Conflict("this lesson is already on its way", code="lesson_in_progress")
        inserted_row = await session.get(Delivery, new_id)
        assert inserted_row is not None
        delivery = inserted_row
    return LessonToSend(delivery=delivery, content=outbox.lesson_content(lesson, locale=guardian.locale))


async def record_feedback(
    session: AsyncSession, *, guardian: Guardian, delivery_id: int, question: str, answer: str, now: datetime
) -> LessonFeedback:
    if question not in QUESTIONS or answer not in QUESTIONS[question]:
        raise Invalid("unknown answer", field="answer")
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None or delivery.guardian_id != guardian.id or not delivery.lesson_id:
        raise NotFound("lesson delivery not found")
    lesson_delivery = delivery
    if delivery.kind == MessageKind.LESSON_FOLLOWUP:
        lesson_delivery_id = (delivery.payload or {}).get("lesson_delivery_id")
        earlier = await session.get(Delivery, lesson_delivery_id) if lesson_delivery_id else delivery
        if earlier is None:
            raise Conflict("the lesson is gone", code="stale_step")
        lesson_delivery = earlier
    row = await session.scalar(
        select(LessonFeedback).where(
            LessonFeedback.delivery_id == lesson_delivery.id, LessonFeedback.question == question
        )
    )
    if row is None:
        row = LessonFeedback(
            delivery_id=lesson_delivery.id, guardian_id=guardian.id, cohort_id=delivery.cohort_id,
            lesson_id=delivery.lesson_id, lesson_version=delivery.lesson_version or 1, question=question,
            answer=answer, answered_at=now,
        )
        session.add(row)
    else:
        row.answer, row.answered_at = answer, now  # a second tap changes their answer
    await session.flush()
    return row


async def lesson_history(session: AsyncSession, *, guardian: Guardian, limit: int = 10) -> list[tuple[Delivery, Lesson]]:
    rows = await session.execute(
        select(Delivery, Lesson)
        .join(Lesson, (Lesson.id == Delivery.lesson_id) & (Lesson.version == Delivery.lesson_version))
        .where(Delivery.guardian_id == guardian.id, Delivery.kind == MessageKind.LESSON, Delivery.state == outbox.SENT)
        .order_by(Delivery.sent_at.desc(), Delivery.id.desc())
        .limit(limit)
    )
    return [(d, lesson) for d, lesson in rows]


async def lesson_for_rereading(session: AsyncSession, *, guardian: Guardian, delivery_id: int) -> Lesson:
    """A lesson this guardian was sent (only theirs), in the exact version they got."""
    delivery = await session.get(Delivery, delivery_id)
    if delivery is None or delivery.guardian_id != guardian.id or delivery.kind != MessageKind.LESSON or not delivery.lesson_id:
        raise NotFound("lesson not found")
    lesson = await session.get(Lesson, (delivery.lesson_id, delivery.lesson_version))
    if lesson is None:
        raise NotFound("lesson not found")
    return lesson
