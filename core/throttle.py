"""Failed sign-ins counted in the database, so that several API processes share one count per
client address (issue #16): with N processes a guesser gets `limit` tries, not N × `limit`.

Pure queries with explicit inputs; the API's guard (api.guard.SharedAuthThrottle) decides when
to call them and keeps a per-process copy of who is blocked, so a request that carries a good
token costs no extra round trip.
"""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import AuthFailure

ADDRESS_MAX = 64


def _seconds_left(failures: list[datetime], *, limit: int, window: float, now: datetime) -> int | None:
    """Seconds until fewer than `limit` of these (ascending) failures lie in the window, or None
    when the address is not blocked."""
    if len(failures) < limit:
        return None
    frees_at = failures[len(failures) - limit] + timedelta(seconds=window)
    return max(1, int((frees_at - now).total_seconds() + 0.999))


async def record_failure(session: AsyncSession, *, address: str, now: datetime, limit: int,
                         window: float) -> tuple[int, int | None]:
    """Add one failure for `address`; returns (its failures within the window, counting this one;
    seconds it is blocked for, or None). Prunes every failure older than the window on the way."""
    address = address[:ADDRESS_MAX]
    cutoff = now - timedelta(seconds=window)
    await session.execute(delete(AuthFailure).where(AuthFailure.at <= cutoff))
    session.add(AuthFailure(address=address, at=now))
    await session.flush()
    failures = list((await session.scalars(
        select(AuthFailure.at).where(AuthFailure.address == address, AuthFailure.at > cutoff)
        .order_by(AuthFailure.at))).all())
    return len(failures), _seconds_left(failures, limit=limit, window=window, now=now)


async def blocked_addresses(session: AsyncSession, *, now: datetime, limit: int, window: float) -> dict[str, int]:
    """{address: seconds it stays blocked} for every address with `limit` failures in the window."""
    cutoff = now - timedelta(seconds=window)
    over = (select(AuthFailure.address).where(AuthFailure.at > cutoff).group_by(AuthFailure.address)
            .having(func.count() >= limit))
    rows = (await session.execute(
        select(AuthFailure.address, AuthFailure.at)
        .where(AuthFailure.at > cutoff, AuthFailure.address.in_(over))
        .order_by(AuthFailure.address, AuthFailure.at))).all()
    by_address: dict[str, list[datetime]] = {}
    for address, at in rows:
        by_address.setdefault(address, []).append(at)
    blocked = {}
    for address, failures in by_address.items():
        left = _seconds_left(failures, limit=limit, window=window, now=now)
        if left is not None:
            blocked[address] = left
    return blocked
