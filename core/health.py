"""What /healthz reports: the database answers, and how long ago the scheduler tick last ran."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Heartbeat

TICK = "tick"


async def ping(session: AsyncSession) -> None:
    """Raises when the database cannot be reached."""
    await session.execute(text("SELECT 1"))


async def heartbeat_age_seconds(session: AsyncSession, *, now: datetime, name: str = TICK) -> float | None:
    """Seconds since the named periodic job last ran, or None if it never has."""
    at = await session.scalar(select(Heartbeat.at).where(Heartbeat.name == name))
    if at is None:
        return None
    return max(0.0, (now - at).total_seconds())


def tick_is_stale(age_seconds: float | None, *, tick_seconds: int) -> bool:
    # A few missed ticks are normal under load; a minute without one means nobody is ticking.
    return age_seconds is None or age_seconds > max(60, 4 * tick_seconds)
