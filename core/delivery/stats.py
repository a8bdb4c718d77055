"""Delivery statistics for one cohort over a period: what happened to its messages, who became
unreachable, and what guardians said about the lessons. Counts only, never who said what.

The period is [since, until): deliveries planned (created) in it, feedback answered in it,
guardians marked unreachable in it.
"""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from pydantic import BaseModel
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope
from core.delivery.lessons import QUESTIONS
from core.delivery.outbox import SENT, STATES
from core.errors import Invalid, NotFound
from core.messages import MessageKind
from core.models import Cohort, Delivery, DeliveryDayCount, Guardian, Household, Lesson, LessonFeedback

KINDS = (MessageKind.LESSON, MessageKind.LESSON_FOLLOWUP, MessageKind.CAMPAIGN)


class GuardianCounts(BaseModel):
    marked_unreachable: int  # in the period: the channel said they refused us (blocked)
    unreachable_now: int


class LessonStats(BaseModel):
    lesson_id: str
    titles: dict[str, str]  # of the latest version, per locale
    sent: int
    helpful: dict[str, int]
    tried: dict[str, int]


class DeliveryStats(BaseModel):
    cohort_id: int
    since: datetime
    until: datetime
    deliveries: dict[str, dict[str, int]]  # kind -> state -> count
    totals: dict[str, int]  # state -> count, all kinds
    guardians: GuardianCounts
    feedback: dict[str, dict[str, int]]  # question -> answer -> count
    lessons: list[LessonStats]  # the most sent (then most answered) lessons


def _feedback_counts() -> dict[str, dict[str, int]]:
    return {question: dict.fromkeys(answers, 0) for question, answers in QUESTIONS.items()}


async def delivery_stats(
    session: AsyncSession, *, scope: Scope, cohort_id: int, since: datetime, until: datetime, top: int = 10
) -> DeliveryStats:
    if await session.get(Cohort, cohort_id) is None or not scope.sees(cohort_id):
        raise NotFound("cohort not found", field="cohort_id")
    if since >= until:
        raise Invalid("must be before until", field="since")

    deliveries: dict[str, dict[str, int]] = {str(kind): dict.fromkeys(STATES, 0) for kind in KINDS}
    sent: dict[str, int] = {}  # lessons sent
    for (kind, state, lesson_id), n in (await _counts(session, cohort_id, since, until)).items():
        by_state = deliveries.setdefault(kind, dict.fromkeys(STATES, 0))
        by_state[state] = by_state.get(state, 0) + n
        if kind == MessageKind.LESSON and state == SENT and lesson_id is not None:
            sent[lesson_id] = sent.get(lesson_id, 0) + n
    totals = dict.fromkeys(STATES, 0)
    for by_state in deliveries.values():
        for state, n in by_state.items():
            totals[state] = totals.get(state, 0) + n

    # Both counts in one pass over the cohort's households and ix_guardians_household_unreachable.
    unreachable_now, marked = (await session.execute(
        select(func.count(), func.count().filter(Guardian.unreachable_at >= since, Guardian.unreachable_at < until))
        .select_from(Guardian).join(Household, Household.id == Guardian.household_id)
        .where(Household.cohort_id == cohort_id, Guardian.unreachable_at.is_not(None))
    )).one()
    guardians = GuardianCounts(marked_unreachable=marked or 0, unreachable_now=unreachable_now or 0)

    feedback = _feedback_counts()
    per_lesson: dict[str, dict[str, dict[str, int]]] = {}
    for lesson_id, question, answer, n in await session.execute(
        select(LessonFeedback.lesson_id, LessonFeedback.question, LessonFeedback.answer, func.count())
        .where(LessonFeedback.cohort_id == cohort_id, LessonFeedback.answered_at >= since,
               LessonFeedback.answered_at < until)
        .group_by(LessonFeedback.lesson_id, LessonFeedback.question, LessonFeedback.answer)
    ):
        for counts in (feedback, per_lesson.setdefault(lesson_id, _feedback_counts())):
            by_answer = counts.setdefault(question, {})
            by_answer[answer] = by_answer.get(answer, 0) + n

    ranked = sorted(
        set(sent) | set(per_lesson),
        key=lambda lid: (-sent.get(lid, 0), -sum(sum(a.values()) for a in per_lesson.get(lid, {}).values()), lid),
    )[:top]
    titles = await _titles(session, ranked)
    lessons = [
        LessonStats(lesson_id=lid, titles=titles.get(lid, {}), sent=sent.get(lid, 0),
                    **per_lesson.get(lid, _feedback_counts()))
        for lid in ranked
    ]
    return DeliveryStats(
        cohort_id=cohort_id, since=since, until=until, deliveries=deliveries, totals=totals, guardians=guardians,
        feedback=feedback, lessons=lessons,
    )


async def _counts(session: AsyncSession, cohort_id: int, since: datetime,
                  until: datetime) -> dict[tuple[str, str, str | None], int]:
    """How many of the cohort's deliveries created in [since, until) are of each kind, state and
    lesson. Keys whose count is zero are left out, as a count of the outbox would.

    On SQLite the whole UTC days inside the period come from the per-day pre-aggregate
    (core.models.DeliveryDayCount: a few rows per day, kept by triggers); only the partial days at
    its ends are counted from the outbox (ix_deliveries_cohort_created). On PostgreSQL the whole
    period is counted from the outbox: there is no pre-aggregate (migration 0022d), because
    concurrent senders would serialise, and could deadlock, on its shared counter rows; there the
    direct count is cheap enough, and core.report_cache keeps repeated reports from redoing it."""
    counts: dict[tuple[str, str, str | None], int] = {}

    def add(kind: str, state: str, lesson_id: str | None, n: int) -> None:
        key = (kind, state, lesson_id or None)
        counts[key] = counts.get(key, 0) + n

    first = _midnight(since, up=True)
    last = _midnight(until, up=False)
    # The one dialect switch: the pre-aggregate is kept on SQLite only (see above).
    aggregated = session.get_bind().dialect.name == "sqlite"
    if not aggregated or first >= last:  # the outbox alone
        edges = [(since, until)]
    else:
        edges = [(a, b) for a, b in ((since, first), (last, until)) if a < b]
        for kind, state, lesson_id, n in await session.execute(
            select(DeliveryDayCount.kind, DeliveryDayCount.state, DeliveryDayCount.lesson_id,
                   func.sum(DeliveryDayCount.n))
            .where(DeliveryDayCount.cohort_id == cohort_id, DeliveryDayCount.day >= first.date(),
                   DeliveryDayCount.day < last.date())
            .group_by(DeliveryDayCount.kind, DeliveryDayCount.state, DeliveryDayCount.lesson_id)
        ):
            add(kind, state, lesson_id, int(n or 0))
    for start, end in edges:
        for kind, state, lesson, n in await session.execute(
            select(Delivery.kind, Delivery.state, Delivery.lesson_id, func.count())
            .where(Delivery.cohort_id == cohort_id, Delivery.created_at >= start, Delivery.created_at < end)
            .group_by(Delivery.kind, Delivery.state, Delivery.lesson_id)
        ):
            add(kind, state, lesson, n)
    return {key: n for key, n in counts.items() if n}


def _midnight(at: datetime, *, up: bool) -> datetime:
    """The UTC midnight at or after (up) / at or before `at`."""
    at = at.astimezone(timezone.utc)
    day = at.replace(hour=0, minute=0, second=0, microsecond=0)
    if up and day < at:
        try:
            return day + timedelta(days=1)
        except OverflowError:  # the calendar's last day: no whole day after it
            return datetime.max.replace(tzinfo=timezone.utc)
    return day


async def _titles(session: AsyncSession, lesson_ids: list[str]) -> dict[str, dict[str, str]]:
    """Titles of each lesson's latest version, so a report names lessons the way staff know them."""
    if not lesson_ids:
        return {}
    rows = await session.scalars(select(Lesson).where(Lesson.id.in_(lesson_ids)).order_by(Lesson.version))
    return {row.id: {loc: text.get("title", "") for loc, text in row.texts.items()} for row in rows}
