"""GET /healthz: database reachability and the scheduler tick's age, without authentication."""
from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.main import create_app
from core.clock import FrozenClock
from core.config import Settings
from core.db import make_engine, make_sessionmaker
from core.models import Heartbeat


async def _set_tick(sessionmaker: async_sessionmaker[AsyncSession], at) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session, session.begin():
        await session.merge(Heartbeat(name="tick", at=at))


async def test_never_ticked_is_degraded(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "tick_age_seconds": None}


async def test_recent_tick_is_ok(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _set_tick(sessionmaker, clock() - timedelta(seconds=12))
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "tick_age_seconds": 12.0}


async def test_stale_tick_is_degraded(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _set_tick(sessionmaker, clock() - timedelta(minutes=10))
    body = (await client.get("/healthz")).json()
    assert body["status"] == "degraded" and body["tick_age_seconds"] == 600.0


async def test_unreachable_database_is_503(settings: Settings, clock: FrozenClock) -> None:
    # Nothing listens on port 1: refused at once. (A failing aiosqlite connect leaves a worker
    # thread that warns after the test's loop has closed.)
    engine = make_engine("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    app = create_app(settings=settings, sessionmaker=make_sessionmaker(engine), clock=clock)
    try:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            response = await client.get("/healthz")
    finally:
        await engine.dispose()
    assert response.status_code == 503
    assert response.json() == {"status": "degraded", "database": "unreachable", "tick_age_seconds": None}


async def test_lifespan_builds_and_disposes_its_own_engine(settings: Settings, clock: FrozenClock) -> None:
    app = create_app(settings=settings, clock=clock)
    async with app.router.lifespan_context(app):
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
            assert (await client.get("/healthz")).json()["database"] == "ok"
            assert (await client.get("/api/v1/me", headers={"Authorization": "Bearer test-admin-token"})).status_code == 200
    assert app.state.sessionmaker is None


async def test_docs_are_served(client: httpx.AsyncClient) -> None:
    assert (await client.get("/docs")).status_code == 200
    schema = (await client.get("/openapi.json")).json()
    assert "/api/v1/invitations/{invitation_id}/qr.png" in schema["paths"]
