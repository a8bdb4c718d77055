"""GET /healthz: database reachability, the scheduler tick's age, the outbox backlog per lane and
the oldest unsent urgent message, without authentication."""
from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.main import create_app
from core.clock import FrozenClock
from core.config import Settings
from core.db import make_engine, make_sessionmaker
from core.models import Heartbeat
from tests.api.helpers import delivery


async def _set_tick(sessionmaker: async_sessionmaker[AsyncSession], at) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session, session.begin():
        await session.merge(Heartbeat(name="tick", at=at))


async def test_never_ticked_is_degraded(client: httpx.AsyncClient) -> None:
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "degraded", "database": "ok", "tick_age_seconds": None,
                               "backlog": {"0": 0, "1": 0, "2": 0}, "oldest_urgent_age_seconds": None}


async def test_recent_tick_is_ok(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await _set_tick(sessionmaker, clock() - timedelta(seconds=12))
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "tick_age_seconds": 12.0,
                               "backlog": {"0": 0, "1": 0, "2": 0}, "oldest_urgent_age_seconds": None}


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
    assert response.json() == {"status": "degraded", "database": "unreachable", "tick_age_seconds": None,
                               "backlog": None, "oldest_urgent_age_seconds": None}


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


async def _add(sessionmaker: async_sessionmaker[AsyncSession], *rows: object) -> None:
    async with sessionmaker() as session, session.begin():
        session.add_all(rows)


async def test_backlog_per_lane_and_oldest_urgent(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    now = clock()
    await _set_tick(sessionmaker, now - timedelta(seconds=5))
    s = timedelta(seconds=1)
    await _add(
        sessionmaker,
        # lane 0: one due now (waiting 90 s), one in retry back-off (written 120 s ago: the oldest),
        # one planned for later and one sent long ago (neither counts)
        delivery(created_at=now - 90 * s, due_at=now - 30 * s, state="pending", lane=0),
        delivery(created_at=now - 120 * s, due_at=now + 20 * s, state="pending", lane=0, attempts=2),
        delivery(created_at=now - 3600 * s, due_at=now + 3600 * s, state="pending", lane=0),
        delivery(created_at=now - 86400 * s, state="sent", lane=0),
        # lane 1: one due, one whose sender's lease ran out, one still leased
        delivery(created_at=now - 10 * s, due_at=now - s, state="pending", lane=1),
        delivery(created_at=now - 60 * s, state="sending", lane=1, lease_until=now - 10 * s),
        delivery(created_at=now - 60 * s, state="sending", lane=1, lease_until=now + 60 * s),
        # lane 2: three due exactly now, one due in a minute, finished ones
        *[delivery(created_at=now - 60 * s, due_at=now, state="pending") for _ in range(3)],
        delivery(created_at=now, due_at=now + 60 * s, state="pending"),
        delivery(created_at=now - 60 * s, state="failed"),
        delivery(created_at=now - 60 * s, state="cancelled"),
    )
    response = await client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok", "tick_age_seconds": 5.0,
                               "backlog": {"0": 1, "1": 2, "2": 3}, "oldest_urgent_age_seconds": 120.0}


async def test_urgent_message_waiting_over_five_minutes_is_degraded(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    now = clock()
    await _set_tick(sessionmaker, now)
    await _add(sessionmaker, delivery(created_at=now - timedelta(seconds=301), state="sending", lane=0,
                                      lease_until=now + timedelta(seconds=30), attempts=1))
    body = (await client.get("/healthz")).json()
    assert body["status"] == "degraded"
    assert body["oldest_urgent_age_seconds"] == 301.0
    assert body["backlog"] == {"0": 0, "1": 0, "2": 0}  # leased: a sender is on it


async def test_the_bot_of_this_process_is_shown(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    from core.health import BotStatus

    status = BotStatus()
    app = create_app(settings=settings, sessionmaker=sessionmaker, clock=clock, bot_status=status)
    await _set_tick(sessionmaker, clock() - timedelta(seconds=5))
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        off = (await client.get("/healthz")).json()
        status.mark_down("cannot reach the Bot API at http://127.0.0.1:1 (refused)")
        down = (await client.get("/healthz")).json()
        status.mark_up()
        up = (await client.get("/healthz")).json()
    assert (off["status"], off["bot"], off["bot_reason"]) == ("ok", "off", None)
    assert (down["status"], down["bot"]) == ("degraded", "down")
    assert down["bot_reason"].startswith("cannot reach the Bot API")
    assert (up["status"], up["bot"], up["bot_reason"]) == ("ok", "up", None)
