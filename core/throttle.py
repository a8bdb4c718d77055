"""Failed sign-ins, counted two ways for the adapters that take credentials (the API's guard,
the console's sign-in form; pure Python and SQL, no framework, so web/ and api/ share it without
importing each other):

- AuthThrottle: a sliding window in memory, per process;
- record_failure / blocked_addresses: the same count in the database, so that several API
  processes share one count per client address (issue #16): with N processes a guesser gets
  `limit` tries, not N × `limit`. The API's guard (api.guard.SharedAuthThrottle) decides when to
  call them and keeps a per-process copy of who is blocked, so a request that carries a good
  token costs no extra round trip.
"""
from __future__ import annotations

from collections import OrderedDict, deque
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


class AuthThrottle:
    """Failed authentications per client address in a sliding window. After `limit` failures
    within `window` seconds the address is refused (every request, valid token or not — so the
    answer cannot tell a guessed token apart) until its oldest failure leaves the window.

    In memory, per process; the API's guard shares it between several processes through the
    database (api.guard.SharedAuthThrottle over the functions below). At most `max_addresses`
    are remembered (the least recently failing are forgotten first)."""

    def __init__(self, *, limit: int, window_seconds: int, max_addresses: int = 10_000) -> None:
        self.limit = limit
        self.window = float(window_seconds)
        self.max_addresses = max_addresses
        self._failures: OrderedDict[str, deque[float]] = OrderedDict()

    def _recent(self, address: str, now: float) -> deque[float] | None:
        failures = self._failures.get(address)
        if failures is None:
            return None
        while failures and failures[0] <= now - self.window:
            failures.popleft()
        if not failures:
            del self._failures[address]
            return None
        return failures

    def retry_after(self, address: str, now: float) -> int | None:
        """Seconds until the address may try again, or None when it is not blocked."""
        failures = self._recent(address, now)
        if failures is None or len(failures) < self.limit:
            return None
        # Blocked until enough failures have aged out to fall below the limit.
        return max(1, int(failures[len(failures) - self.limit] + self.window - now + 0.999))

    def fail(self, address: str, now: float) -> bool:
        """Record a failure; True when this one reached the limit (the moment to log it)."""
        failures = self._recent(address, now) or deque()
        failures.append(now)
        self._failures[address] = failures
        self._failures.move_to_end(address)
        while len(self._failures) > self.max_addresses:
            self._failures.popitem(last=False)
        return len(failures) == self.limit

    # The guard's interface (async, so that the API's shared throttle can ask the database).
    async def check(self, address: str, now: float) -> int | None:
        return self.retry_after(address, now)

    async def record(self, address: str, now: float) -> bool:
        return self.fail(address, now)
