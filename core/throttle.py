"""A sliding-window throttle of failed sign-ins, shared by the adapters that take credentials
(the API's guard, the console's sign-in form): pure Python, no framework, so web/ and api/ use
it without importing each other."""
from __future__ import annotations

from collections import OrderedDict, deque


class AuthThrottle:
    """Failed authentications per client address in a sliding window. After `limit` failures
    within `window` seconds the address is refused (every request, valid token or not — so the
    answer cannot tell a guessed token apart) until its oldest failure leaves the window.

    In memory, per process: enough to make guessing slow; a shared limiter belongs in front of
    several API processes (a proxy) if the deployment has them. At most `max_addresses` are
    remembered (the least recently failing are forgotten first)."""

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
