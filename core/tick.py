"""One scheduler tick: ask the database what is due and do it. Safe to run twice or in two
processes at once; idempotency comes from the data (unique keys, deletes), not the scheduler."""
from __future__ import annotations

import logging

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.config import Settings
from core.alerts.notify import escalate_due, remind_due
from core.campaigns.service import plan_due_campaigns
from core.checkin.planning import run_checkin_tick
from core.delivery.planning import plan_due_lessons
from core.housekeeping import beat, housekeep
from core.inbox.service import run_inbox_tick

log = logging.getLogger(__name__)


async def run_tick(sessionmaker: async_sessionmaker[AsyncSession], *, settings: Settings, clock: Clock) -> None:
    now = clock()
    planned = await plan_due_lessons(sessionmaker, now=now)
    async with sessionmaker() as session, session.begin():
        planned += await plan_due_campaigns(session, now=now)
    checkins = await run_checkin_tick(sessionmaker, now=now)
    async with sessionmaker() as session, session.begin():
        escalated = await escalate_due(session, now=now)
        reminded = await remind_due(session, now=now)
    async with sessionmaker() as session, session.begin():
        inbox = await run_inbox_tick(session, now=now)
    if any(inbox.values()):
        log.info("inbox: %s", inbox)
    if escalated or reminded:
        log.info("alerts: %d escalated, %d reminders", escalated, reminded)
    planned += checkins.deliveries + checkins.reminders
    if planned:
        log.info("planned %d deliveries", planned)
    if checkins.rounds or checkins.expired:
        log.info("check-ins: %d round(s) planned, %d check-in(s) opened, %d expired",
                 checkins.rounds, checkins.checkins, checkins.expired)
    async with sessionmaker() as session, session.begin():
        result = await housekeep(
            session,
            now=now,
            draft_expiry_days=settings.draft_expiry_days,
            code_window_minutes=settings.code_attempts_window_minutes,
            case_retention_days=settings.case_retention_days,
        )
        await beat(session, name="tick", now=now)
    if any(vars(result).values()):
        log.debug("housekeeping removed %s", vars(result))
