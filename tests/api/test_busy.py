"""Issue #16: a database too busy to answer in time is a clean 503 JSON (never a 500, never a
held connection), and /healthz, on its own pool, still reports the database reachable."""
from __future__ import annotations

import asyncio

import httpx
from fastapi import FastAPI
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.main import create_app
from core.clock import FrozenClock
from core.config import Settings
from core.db import HEALTH_POOL, PoolRole, make_engine, make_sessionmaker
from core.models import Heartbeat
from tests.api.helpers import World

ADMIN = {"Authorization": "Bearer test-admin-token"}


async def test_an_exhausted_api_pool_is_503_busy_and_health_still_ok(db_url: str, settings: Settings,
                                                                      clock: FrozenClock) -> None:
    api_engine = make_engine(db_url, role=PoolRole("api", pool_size=1, max_overflow=0, pool_timeout=0.2,
                                                   statement_timeout=5.0))
    health_engine = make_engine(db_url, role=HEALTH_POOL)
    app = create_app(settings=settings, sessionmaker=make_sessionmaker(api_engine), clock=clock,
                     health_sessionmaker=make_sessionmaker(health_engine))
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            held = await api_engine.connect()  # every API connection busy (e.g. on a slow report)
            try:
                await held.execute(text("SELECT 1"))
                busy = await client.get("/api/v1/cohorts", headers=ADMIN)
                health = await client.get("/healthz")
            finally:
                await held.close()
            assert busy.status_code == 503
            assert busy.json()["error"]["code"] == "database_busy"
            assert health.json()["database"] == "ok"
            # Once a connection is free again, the same request is served.
            assert (await client.get("/api/v1/cohorts", headers=ADMIN)).status_code == 200
    finally:
        await api_engine.dispose()
        await health_engine.dispose()


async def test_health_without_a_pool_of_its_own_says_busy_not_unreachable(db_url: str, settings: Settings,
                                                                           clock: FrozenClock) -> None:
    engine = make_engine(db_url, role=PoolRole("api", pool_size=1, max_overflow=0, pool_timeout=0.2,
                                               statement_timeout=5.0))
    app = create_app(settings=settings, sessionmaker=make_sessionmaker(engine), clock=clock)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            async with engine.connect() as held:
                await held.execute(text("SELECT 1"))
                response = await client.get("/healthz")
    finally:
        await engine.dispose()
    assert response.status_code == 503
    assert response.json()["database"] == "busy"


async def test_on_sqlite_a_get_reads_beside_a_held_write_transaction(
    db_url: str, client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """GET routes read in a deferred transaction: a writer holding the lock (another process, a
    long tick) does not hold them up. (Their audit rows wait for the writer, like any write.)"""
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's locking: PostgreSQL readers never take a write lock")
    async with sessionmaker() as holding:
        holding.add(Heartbeat(name="held", at=clock()))
        await holding.flush()  # BEGIN IMMEDIATE: the write lock is held until the end of this block
        me = await asyncio.wait_for(client.get("/api/v1/me", headers=world.a.director_auth), timeout=5)
        health = await asyncio.wait_for(client.get("/healthz"), timeout=5)
        await holding.rollback()
    assert me.status_code == 200 and health.json()["database"] == "ok"


async def test_a_report_waits_for_a_slot_then_is_503(app: FastAPI, client: httpx.AsyncClient, world: World,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    """At most REPORT_SLOTS aggregate reports run at once; one that cannot get a slot in time is
    a 503, having held no database connection meanwhile."""
    import api.deps

    monkeypatch.setattr(api.deps, "REPORT_WAIT", 0.05)
    app.state.report_slots = asyncio.Semaphore(0)  # every slot taken
    url = f"/api/v1/cohorts/{world.a.cohort_id}/reports/funnel"
    busy = await client.get(url, headers=world.a.director_auth)
    assert busy.status_code == 503 and busy.json()["error"]["code"] == "database_busy"
    app.state.report_slots.release()
    assert (await client.get(url, headers=world.a.director_auth)).status_code == 200
