"""Failed sign-ins are counted once for all API processes (issue #16): two app instances on one
PostgreSQL database — as two `shouwang api` workers are — allow 20 failures from an address in
all, not 20 each; on SQLite (one API process) the count stays in memory."""
from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.main import create_app
from core.clock import FrozenClock
from core.config import Settings
from core.db import make_engine, make_sessionmaker
from core.models import AuthFailure
from core.throttle import blocked_addresses, record_failure
from tests.api.helpers import World, bearer


def _postgresql_only(db_url: str) -> None:
    if db_url.startswith("sqlite"):
        pytest.skip("shared through the database on PostgreSQL only (SQLite runs one API process)")


async def test_two_api_processes_share_one_count(db_url: str, settings: Settings, world: World, clock: FrozenClock,
                                                 sessionmaker: async_sessionmaker[AsyncSession],
                                                 caplog: pytest.LogCaptureFixture) -> None:
    _postgresql_only(db_url)
    caplog.set_level(logging.WARNING)
    # A second process: its own engine (pool) on the same database, its own app and memory.
    other_engine = make_engine(db_url)
    try:
        first = create_app(settings=settings, sessionmaker=sessionmaker, clock=clock)
        second = create_app(settings=settings, sessionmaker=make_sessionmaker(other_engine), clock=clock)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=first), base_url="http://one") as one, \
                httpx.AsyncClient(transport=httpx.ASGITransport(app=second), base_url="http://two") as two:
            for attempt in range(20):  # alternating, 10 failures through each process
                http = one if attempt % 2 else two
                if attempt % 4 < 2:
                    response = await http.get("/api/v1/me", headers=bearer(f"sw_guess-{attempt}"))
                else:
                    response = await http.post("/api/v1/cohorts", json={"name": "x"},
                                               headers=bearer(f"sw_guess-{attempt}"))
                assert response.status_code == 401, (attempt, response.text)
                clock.advance(seconds=1)
            # Each process saw only ten, yet both refuse now, even a valid token.
            for http in (one, two):
                response = await http.get("/api/v1/me", headers=world.a.director_auth)
                assert response.status_code == 429, response.text
                assert response.headers["Retry-After"] == "40"
            clock.advance(seconds=41)  # the first failure has aged out: below the limit again
            for http in (one, two):
                assert (await http.get("/api/v1/me", headers=world.a.director_auth)).status_code == 200
    finally:
        await other_engine.dispose()
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["20 failed sign-ins from 127.0.0.1 within 60s; refusing it for a while"]
    assert "sw_guess" not in caplog.text


async def test_on_sqlite_the_count_stays_in_the_process(db_url: str, settings: Settings, world: World,
                                                       clock: FrozenClock,
                                                       sessionmaker: async_sessionmaker[AsyncSession]) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite behaviour")
    app = create_app(settings=settings, sessionmaker=sessionmaker, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://one") as http:
        for attempt in range(20):
            assert (await http.get("/api/v1/me", headers=bearer(f"sw_{attempt}"))).status_code == 401
        assert (await http.get("/api/v1/me", headers=world.a.director_auth)).status_code == 429
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(AuthFailure)) == 0  # no write lock taken


async def test_failures_are_counted_per_address_and_pruned(db_url: str, sessionmaker: async_sessionmaker[AsyncSession],
                                                           clock: FrozenClock) -> None:
    now = clock()
    async with sessionmaker() as session, session.begin():
        for n in range(3):
            count, left = await record_failure(session, address="10.0.0.1", now=now + timedelta(seconds=n),
                                               limit=3, window=60)
        assert (count, left) == (3, 58)  # blocked until the first ages out: 60 s after it, 58 after the last
        count, left = await record_failure(session, address="10.0.0.2", now=now + timedelta(seconds=2),
                                           limit=3, window=60)
        assert (count, left) == (1, None)
    async with sessionmaker() as session:
        assert await blocked_addresses(session, now=now + timedelta(seconds=10), limit=3, window=60) == {"10.0.0.1": 50}
        assert await blocked_addresses(session, now=now + timedelta(seconds=61), limit=3, window=60) == {}
    async with sessionmaker() as session, session.begin():  # a later failure prunes those out of the window
        await record_failure(session, address="10.0.0.3", now=now + timedelta(seconds=120), limit=3, window=60)
    async with sessionmaker() as session:
        assert await session.scalar(select(func.count()).select_from(AuthFailure)) == 1
