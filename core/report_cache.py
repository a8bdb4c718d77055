"""A short-lived cache for aggregate reports (the screening funnel, delivery statistics), per
process, keyed by report, cohort and period (issue #16).

Why stale-by-seconds is fine: these are reports about weeks of a programme — how many check-ins
went out and were answered, how many alerts were raised and handled. A figure a few seconds old
is as true for that purpose as one computed now, while sixteen staff opening the same report at
once would otherwise run the same counting query sixteen times. Nothing that acts on a child
(alerts, cases, the inbox) reads through it; the lists stay live.

- A fresh entry (younger than `fresh_seconds`) is served as is.
- An older one, up to `stale_seconds`, is served while one request recomputes it, so only that
  request waits; an entry older than that is never served.
- When there is no usable entry, the first request computes it and the others of the same key
  wait for that result instead of running the query again.
`now` is the caller's clock (tests move it). fresh_seconds 0 turns the cache off.
"""
from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

T = TypeVar("T")


@dataclass
class _Entry:
    at: datetime
    value: Any


class ReportCache:
    def __init__(self, *, fresh_seconds: float = 5.0, stale_seconds: float | None = None,
                 max_entries: int = 256) -> None:
        self.fresh = fresh_seconds
        self.stale = max(fresh_seconds, stale_seconds if stale_seconds is not None else 3 * fresh_seconds)
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, _Entry] = OrderedDict()
        self._locks: dict[Hashable, asyncio.Lock] = {}
        self._refreshing: set[Hashable] = set()
        self.computed = 0  # how many times a report was computed (for tests and the benchmark)

    def _age(self, entry: _Entry | None, now: datetime) -> float | None:
        if entry is None:
            return None
        age = (now - entry.at).total_seconds()
        return age if age >= 0 else None  # a clock that went back: treat as unknown

    async def get(self, key: Hashable, now: datetime, compute: Callable[[], Awaitable[T]]) -> T:
        if self.fresh <= 0:
            return await compute()
        entry = self._entries.get(key)
        age = self._age(entry, now)
        if entry is not None and age is not None and age < self.fresh:
            return entry.value
        if entry is not None and age is not None and age < self.stale:
            if key in self._refreshing:
                return entry.value  # another request is recomputing it
            self._refreshing.add(key)
            try:
                return await self._compute(key, now, compute)
            finally:
                self._refreshing.discard(key)
        lock = self._locks.setdefault(key, asyncio.Lock())
        async with lock:
            entry = self._entries.get(key)
            age = self._age(entry, now)
            if entry is not None and age is not None and age < self.fresh:
                return entry.value  # computed while we waited
            return await self._compute(key, now, compute)

    async def _compute(self, key: Hashable, now: datetime, compute: Callable[[], Awaitable[T]]) -> T:
        value = await compute()
        self.computed += 1
        self._entries[key] = _Entry(at=now, value=value)
        self._entries.move_to_end(key)
        while len(self._entries) > self.max_entries:
            old, _ = self._entries.popitem(last=False)
            self._locks.pop(old, None)
        return value
