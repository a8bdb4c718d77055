"""A fitting lesson after a check-in: the fired rules name lessons that may help (best first);
the guardian gets the first that suits them — their audience, the child's age — and that they
have not had. One lesson at most, through the outbox like any lesson (with its feedback buttons
and the "did you try it?" follow-up)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.catalog.service import age_band, audience_for, latest_lessons
from core.checkin.rules import FiredRule
from core.content.questionnaires import SEVERITY_RANK
from core.delivery.lessons import lessons_done
from core.endpoints.service import first_address
from core.delivery.outbox import LANE_CHECKIN, enqueue
from core.messages import MessageKind
from core.people import age_in_years
from core.models import CheckIn, Child, Delivery, Guardian, Lesson


async def fitting_lesson(session: AsyncSession, *, checkin: CheckIn, fired: list[FiredRule], guardian: Guardian,
                         now: datetime) -> Lesson | None:
    candidates = [lid for f in sorted(fired, key=lambda f: -SEVERITY_RANK[f.severity]) for lid in f.lessons]
    if not candidates:
        return None
    band = None
    if checkin.child_id is not None:
        child = await session.get(Child, checkin.child_id)
        if child is not None:
            band = age_band(age_in_years(child.birth_year, child.birth_month, now.date()))
    audience = audience_for(guardian.lives_with_children)
    done = await lessons_done(session, guardian_id=guardian.id)
    library = {lesson.id: lesson for lesson in await latest_lessons(session)}
    for lesson_id in dict.fromkeys(candidates):
        lesson = library.get(lesson_id)
        if lesson is None or lesson_id in done or audience not in lesson.audience:
            continue
        if band is not None and band not in lesson.age_bands:
            continue
        return lesson
    return None


async def send_fitting_lesson(session: AsyncSession, *, checkin: CheckIn, fired: list[FiredRule],
                              guardian: Guardian, now: datetime) -> Delivery | None:
    lesson = await fitting_lesson(session, checkin=checkin, fired=fired, guardian=guardian, now=now)
    if lesson is None:
        return None
    address = await first_address(session, guardian_id=guardian.id)
    if address is None:
        return None
    return await enqueue(session, address=address, kind=MessageKind.LESSON, ref=f"checkin:{checkin.id}",
                         cycle=f"{lesson.id}@{lesson.version}", lane=LANE_CHECKIN, due_at=now, now=now,
                         guardian_id=guardian.id, cohort_id=checkin.cohort_id, lesson=lesson)
