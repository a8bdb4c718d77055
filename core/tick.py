"""One scheduler tick: ask the database what is due and do it. Safe to run twice or in two
processes at once; idempotency comes from the data (unique keys, deletes), not the scheduler."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock
from core.config import Settings
from core.alerts.notify import escalate_due, remind_due
from core.campaigns.service import plan_due_campaigns
from core.checkin.planning import TickResult, run_checkin_tick
from core.delivery.planning import plan_due_lessons
from core.housekeeping import HousekeepingResult, beat, housekeep
from core.inbox import recordings
from core.inbox.service import run_inbox_tick

log = logging.getLogger(__name__)
T = TypeVar("T")


async def run_tick(sessionmaker: async_sessionmaker[AsyncSession], *, settings: Settings, clock: Clock) -> None:
    """Each step in its own transaction, and each runs even when an earlier one failed (a
    planning statement over the worker's statement timeout, say): a broken planner never keeps
    escalations and reminders from going out. The heartbeat is written only when every step
    succeeded, so /healthz shows a tick that keeps failing; the first error is raised at the end."""
    now = clock()
    errors: list[BaseException] = []

    async def step(name: str, work: Callable[[], Awaitable[T]], default: T) -> T:
        try:
            return await work()
        except Exception as exc:  # noqa: BLE001 - logged here, raised after the other steps
            log.error("tick step %s failed: %s", name, type(exc).__name__)
            errors.append(exc)
            return default

    async def campaigns() -> int:
        async with sessionmaker() as session, session.begin():
            return await plan_due_campaigns(session, now=now)

    async def alerts() -> tuple[int, int]:
        async with sessionmaker() as session, session.begin():
            return await escalate_due(session, now=now), await remind_due(session, now=now)

    planned = await step("lessons", lambda: plan_due_lessons(sessionmaker, now=now), 0)
    planned += await step("campaigns", campaigns, 0)
    checkins = await step("checkins", lambda: run_checkin_tick(sessionmaker, now=now), TickResult())
    escalated, reminded = await step("alerts", alerts, (0, 0))

    async def inbox_step() -> dict[str, int]:
        async with sessionmaker() as session, session.begin():
            return await run_inbox_tick(session, now=now)

    inbox = await step("inbox", inbox_step, dict[str, int]())
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

    async def recordings_step() -> int:
        async with sessionmaker() as session, session.begin():
            return await recordings.sweep_orphans(session, root=settings.recordings_root, now=now)

    await step("recordings", recordings_step, 0)

    async def housekeeping() -> HousekeepingResult:
        async with sessionmaker() as session, session.begin():
            result = await housekeep(
                session,
                now=now,
                draft_expiry_days=settings.draft_expiry_days,
                code_window_minutes=settings.code_attempts_window_minutes,
                case_retention_days=settings.case_retention_days,
            )
            if not errors:
                await beat(session, name="tick", now=now)
            return result

    result = await step("housekeeping", housekeeping, HousekeepingResult())
    if any(vars(result).values()):
        log.debug("housekeeping removed %s", vars(result))
    if errors:
        raise errors[0]
