"""Reports served from the short-lived per-process cache (core.report_cache, issue #16): the same
numbers as computed afresh, stale by at most a few seconds, one computation for many readers,
access checked before anything is served from it."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.main import create_app
from core.clock import FrozenClock
from core.config import Settings
from core.report_cache import ReportCache
from tests.api.helpers import ADMIN, World
from tests.api.test_funnel import EXPECTED, PERIOD, build_history, url


@pytest.fixture
def app(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> FastAPI:
    return create_app(settings=settings.model_copy(update={"report_cache_seconds": 5.0}),
                      sessionmaker=sessionmaker, clock=clock)


async def test_cached_funnel_has_the_fixture_numbers_and_ages_out(
    client: httpx.AsyncClient, app: FastAPI, world: World, sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await build_history(client, world, sessionmaker, clock)
    cache: ReportCache = app.state.report_cache
    for auth in (ADMIN, world.a.director_auth, world.a.supervisor_auth):
        response = await client.get(url(world.a.cohort_id), params=PERIOD, headers=auth)
        assert response.json() == {"cohort_id": world.a.cohort_id, **EXPECTED}
    assert cache.computed == 1  # three readers, one computation
    # Another cohort's staff is refused before the cache is looked at: 404, not A's figures.
    assert (await client.get(url(world.a.cohort_id), params=PERIOD, headers=world.b.director_auth)).status_code == 404
    # A different period is a different entry.
    wider = (await client.get(url(world.a.cohort_id), params={**PERIOD, "to": "2026-11-21"}, headers=ADMIN)).json()
    assert wider["checkins_sent"] == 7 and cache.computed == 2

    # Erase the acknowledgements behind the cache's back: within the fresh time the report
    # still says 4; past it, the next reader recomputes it.
    from sqlalchemy import update

    from core.models import Alert
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Alert).where(Alert.cohort_id == world.a.cohort_id).values(acknowledged_at=None))
    clock.advance(seconds=4)
    assert (await client.get(url(world.a.cohort_id), params=PERIOD, headers=ADMIN)).json()["acknowledged"] == 4
    clock.advance(seconds=2)
    assert (await client.get(url(world.a.cohort_id), params=PERIOD, headers=ADMIN)).json()["acknowledged"] == 0
    assert cache.computed == 3


async def test_cached_delivery_stats_match_a_fresh_computation(
    client: httpx.AsyncClient, app: FastAPI, world: World, settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
) -> None:
    await build_history(client, world, sessionmaker, clock)
    stats_url = f"/api/v1/cohorts/{world.a.cohort_id}/deliveries/stats"
    params = {"since": "2026-10-01T00:00:00+08:00", "until": "2026-12-01T00:00:00+08:00"}
    cached = [(await client.get(stats_url, params=params, headers=ADMIN)).json() for _ in range(3)]
    fresh_app = create_app(settings=settings, sessionmaker=sessionmaker, clock=clock)  # cache off
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=fresh_app), base_url="http://fresh") as fresh:
        expected = (await fresh.get(stats_url, params=params, headers=ADMIN)).json()
    assert expected["totals"]["sent"] > 0 and cached == [expected] * 3
    assert app.state.report_cache.computed == 1
    assert (await client.get(stats_url, params=params, headers=world.b.director_auth)).status_code == 404


NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)


async def test_many_readers_at_once_cause_one_computation() -> None:
    cache = ReportCache(fresh_seconds=5)
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow() -> int:
        started.set()
        await release.wait()
        return 42

    readers = [asyncio.create_task(cache.get("k", NOW, slow)) for _ in range(16)]
    await started.wait()
    release.set()
    assert await asyncio.gather(*readers) == [42] * 16 and cache.computed == 1


async def test_a_stale_entry_is_served_while_one_reader_recomputes_and_never_past_its_limit() -> None:
    cache = ReportCache(fresh_seconds=5, stale_seconds=15)
    assert await cache.get("k", NOW, _value(1)) == 1
    release = asyncio.Event()

    async def recompute() -> int:
        await release.wait()
        return 2

    at = NOW + timedelta(seconds=6)  # stale: one reader recomputes, the others get the old figure at once
    refreshing = asyncio.create_task(cache.get("k", at, recompute))
    await asyncio.sleep(0)
    assert await cache.get("k", at, _value(99)) == 1
    release.set()
    assert await refreshing == 2 and await cache.get("k", at, _value(99)) == 2
    # Past the stale limit nothing old is served: the reader waits for a new figure.
    assert await cache.get("k", at + timedelta(seconds=16), _value(3)) == 3
    # Off: every read computes.
    off = ReportCache(fresh_seconds=0)
    assert [await off.get("k", NOW, _value(n)) for n in (1, 2)] == [1, 2] and off.computed == 0


def _value(n: int):  # type: ignore[no-untyped-def]
    async def compute() -> int:
        return n

    return compute
