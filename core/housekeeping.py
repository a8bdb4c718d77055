"""The periodic tick's housekeeping: forget what is no longer needed (least data), and record
that the tick ran (for /healthz). Later issues add planning of due work to the same tick."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import affected_rows
from core.idempotency import KEY_TTL
from core.models import (
    Alert, Case, CodeAttempt, Draft, Heartbeat, HouseholdInvite, IdempotencyKey, ProcessedUpdate,
)

PROCESSED_UPDATE_DAYS = 7  # Channels redeliver an event for a day at most; a week is ample.
USED_INVITE_DAYS = 30


@dataclass
class HousekeepingResult:
    drafts: int = 0
    code_attempts: int = 0
    processed_updates: int = 0
    household_invites: int = 0
    cases: int = 0
    idempotency_keys: int = 0


async def housekeep(
    session: AsyncSession, *, now: datetime, draft_expiry_days: int, code_window_minutes: int,
    case_retention_days: int | None = None,
) -> HousekeepingResult:
    result = HousekeepingResult()
    result.drafts = affected_rows(
        await session.execute(delete(Draft).where(Draft.updated_at < now - timedelta(days=draft_expiry_days)))
    ) or 0
    result.code_attempts = affected_rows(
        await session.execute(
            delete(CodeAttempt).where(CodeAttempt.attempted_at < now - timedelta(minutes=code_window_minutes))
        )
    ) or 0
    result.processed_updates = affected_rows(
        await session.execute(
            delete(ProcessedUpdate).where(
                ProcessedUpdate.processed_at < now - timedelta(days=PROCESSED_UPDATE_DAYS)
            )
        )
    ) or 0
    # Expired or long-used household invites; a draft still pointing at one is dropped with it.
    stale = HouseholdInvite.expires_at < now - timedelta(days=USED_INVITE_DAYS)
    result.household_invites = affected_rows(await session.execute(delete(HouseholdInvite).where(stale))) or 0
    # Idempotency keys mean nothing after their 24 hours.
    result.idempotency_keys = affected_rows(await session.execute(
        delete(IdempotencyKey).where(IdempotencyKey.created_at <= now - KEY_TTL))) or 0
    if case_retention_days is not None:
        # The child-protection record is kept for the retention period after a case closes, then
        # forgotten with its alerts and events. Open cases are never purged: they need a person.
        expired = select(Case.id).where(Case.status == "closed",
                                        Case.closed_at < now - timedelta(days=case_retention_days))
        await session.execute(delete(Alert).where(Alert.case_id.in_(expired)))
        result.cases = affected_rows(await session.execute(delete(Case).where(Case.id.in_(expired)))) or 0
    return result


async def beat(session: AsyncSession, *, name: str, now: datetime) -> None:
    row = await session.get(Heartbeat, name)
    if row is None:
        session.add(Heartbeat(name=name, at=now))
    else:
        row.at = now


async def last_beat(session: AsyncSession, *, name: str) -> datetime | None:
    return await session.scalar(select(Heartbeat.at).where(Heartbeat.name == name))
