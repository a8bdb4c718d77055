"""What /healthz reports: the database answers, how long ago the scheduler tick last ran, how
much due work waits in each outbox lane, and how long the oldest urgent message has waited."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, func, or_, select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.delivery.outbox import LANE_CHECKIN, LANE_LESSON, LANE_URGENT, PENDING, SENDING
from core.housekeeping import last_beat
from core.models import Delivery

TICK = "tick"
LANES = (LANE_URGENT, LANE_CHECKIN, LANE_LESSON)
# A red alert should reach a director within a minute; five minutes unsent is an incident.
URGENT_STALE_SECONDS = 300.0


async def ping(session: AsyncSession) -> None:
    """Raises when the database cannot be reached."""
    await session.execute(text("SELECT 1"))


async def heartbeat_age_seconds(session: AsyncSession, *, now: datetime, name: str = TICK) -> float | None:
    """Seconds since the named periodic job last ran, or None if it never has."""
    at = await last_beat(session, name=name)
    if at is None:
        return None
    return max(0.0, (now - at).total_seconds())


def tick_is_stale(age_seconds: float | None, *, tick_seconds: int) -> bool:
    # A few missed ticks are normal under load; a minute without one means nobody is ticking.
    return age_seconds is None or age_seconds > max(60, 4 * tick_seconds)


async def lane_backlog(session: AsyncSession, *, now: datetime) -> dict[int, int]:
    """Deliveries a sender could claim right now, per lane: pending and due, or claimed by a
    sender whose lease ran out (it crashed)."""
    claimable = or_(
        and_(Delivery.state == PENDING, Delivery.due_at <= now),
        and_(Delivery.state == SENDING, Delivery.lease_until < now),
    )
    counts = dict.fromkeys(LANES, 0)
    for lane, n in await session.execute(select(Delivery.lane, func.count()).where(claimable).group_by(Delivery.lane)):
        counts[lane] = n
    return counts


async def oldest_urgent_age_seconds(session: AsyncSession, *, now: datetime) -> float | None:
    """Age (since it was written) of the oldest lane-0 delivery not yet sent, or None.

    Counted from created_at, not due_at: a retry pushes due_at forward, and a failing alert
    must look older with every retry, not younger. Rows not yet due and never tried (planned
    for later) do not count.
    """
    oldest = await session.scalar(
        select(func.min(Delivery.created_at)).where(
            Delivery.lane == LANE_URGENT,
            Delivery.state.in_([PENDING, SENDING]),
            or_(Delivery.due_at <= now, Delivery.attempts > 0),
        )
    )
    if oldest is None:
        return None
    return max(0.0, (now - oldest).total_seconds())


def urgent_is_stale(age_seconds: float | None) -> bool:
    return age_seconds is not None and age_seconds > URGENT_STALE_SECONDS


BotState = Literal["up", "down", "off"]


@dataclass
class BotStatus:
    """Whether this process's chat bot is connected: set by the bot adapter (every answer of
    its provider), read by /healthz. `off` without a token; `down` with the reason (not
    reached yet, unreachable, token refused) while it keeps trying; `up` while polling works."""

    state: BotState = "off"
    reason: str | None = None

    @property
    def is_up(self) -> bool:
        return self.state == "up"

    def mark_up(self) -> bool:
        """True when this changed the state (so the caller logs the transition once)."""
        changed = self.state != "up"
        self.state, self.reason = "up", None
        return changed

    def mark_down(self, reason: str) -> bool:
        changed = self.state != "down" or self.reason != reason
        self.state, self.reason = "down", reason
        return changed
