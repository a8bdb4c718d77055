"""The tick's planning step: for every cohort with a lesson schedule, write the latest due slot
into the outbox, in chunks of guardians (one short transaction each)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.delivery.outbox import PLAN_CHUNK, guardian_id_range, lesson_schedule, plan_groups, plan_lesson_chunk
from core.models import Cohort


async def plan_due_lessons(
    sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime, chunk: int = PLAN_CHUNK
) -> int:
    async with sessionmaker() as session:
        cohorts = [c for c in (await session.scalars(select(Cohort))).all() if lesson_schedule(c)]
    added = 0
    for cohort in cohorts:
        async with sessionmaker() as session:
            groups = await plan_groups(session, cohort=cohort)
            id_range = await guardian_id_range(session, cohort_id=cohort.id)
        if id_range is None:
            continue
        for group in groups:
            for start in range(id_range[0], id_range[1] + 1, chunk):
                async with sessionmaker() as session, session.begin():
                    added += await plan_lesson_chunk(
                        session, cohort=cohort, group=group, now=now, id_from=start, id_to=start + chunk - 1
                    )
    return added
