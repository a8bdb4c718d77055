"""The database plumbing of issue #16: on SQLite read-only sessions begin DEFERRED (a held
write transaction does not block them) and still write their audit rows; a statement over its
role's timeout is stopped and recognised as "busy"; the worker's pool is its own, so an
exhausted API pool never blocks the tick."""
from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import FrozenClock
from core.config import Settings
from core.db import (
    API_POOL, WORKER_POOL, PoolRole, is_busy, make_engine, make_sessionmaker, read_only_sessionmaker,
)
from core.housekeeping import last_beat
from core.models import AuditLog, Heartbeat
from core.tick import run_tick
from tests.conftest import TEST_NOW


def _sqlite_only(db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's locking: PostgreSQL readers never take a write lock")


async def test_a_read_is_not_blocked_by_a_held_write_transaction(engine: AsyncEngine, db_url: str) -> None:
    _sqlite_only(db_url)
    writer = make_sessionmaker(engine)
    reader = read_only_sessionmaker(engine)
    async with writer() as holding:
        holding.add(Heartbeat(name="held", at=TEST_NOW))
        await holding.flush()  # BEGIN IMMEDIATE: this transaction now holds the write lock
        async with reader() as session:
            # Under the old BEGIN IMMEDIATE for everyone this waited 15 s for the lock.
            rows = await asyncio.wait_for(session.scalars(select(Heartbeat.name)), timeout=2)
            assert "held" not in rows.all()  # a WAL reader sees the last committed state
            await session.commit()
        await holding.commit()


async def test_a_read_only_session_still_writes_its_audit_row(engine: AsyncEngine) -> None:
    """Its reads run deferred; the row it adds commits in a write transaction of its own, even
    when another writer committed after its read began (an in-place upgrade would fail then)."""
    reader = read_only_sessionmaker(engine)
    writer = make_sessionmaker(engine)
    async with reader() as session:
        assert await session.scalar(select(Heartbeat.at).where(Heartbeat.name == "tick")) is None
        async with writer() as other, other.begin():
            other.add(Heartbeat(name="tick", at=TEST_NOW))
        session.add(AuditLog(at=TEST_NOW, action="read", entity="household", detail={}))
        await session.commit()
    async with writer() as check:
        assert await check.scalar(select(AuditLog.entity)) == "household"


async def test_a_statement_over_its_timeout_is_stopped_and_busy(db_url: str) -> None:
    quick = PoolRole("test", pool_size=1, max_overflow=0, pool_timeout=1.0, statement_timeout=0.2)
    engine = make_engine(db_url, role=quick)
    slow = ("WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT count(*) FROM n"
            if db_url.startswith("sqlite") else "SELECT pg_sleep(5)")
    try:
        async with engine.connect() as conn:
            with pytest.raises(Exception) as caught:
                await asyncio.wait_for(conn.execute(text(slow)), timeout=4)
            assert is_busy(caught.value), repr(caught.value)
            await conn.rollback()
            assert await conn.scalar(text("SELECT 1")) == 1  # the connection is usable again
    finally:
        await engine.dispose()


async def test_an_exhausted_api_pool_does_not_block_the_tick(
    db_url: str, engine: AsyncEngine, settings: Settings, clock: FrozenClock, loaded_content: None,
) -> None:
    """Every connection of the API pool checked out (as by sixteen clients on a slow report):
    the API's next request gets a quick pool timeout (a 503, by is_busy), while the tick, on the
    worker's pool, runs to its heartbeat."""
    api_engine = make_engine(db_url, role=PoolRole("api", pool_size=2, max_overflow=0, pool_timeout=0.3,
                                                   statement_timeout=API_POOL.statement_timeout))
    worker_engine = make_engine(db_url, role=WORKER_POOL)
    held = [await api_engine.connect() for _ in range(2)]
    try:
        with pytest.raises(Exception) as caught:
            await api_engine.connect()
        assert is_busy(caught.value)
        await asyncio.wait_for(run_tick(make_sessionmaker(worker_engine), settings=settings, clock=clock), timeout=30)
        async with make_sessionmaker(worker_engine)() as session:
            assert await last_beat(session, name="tick") == clock()
    finally:
        for conn in held:
            await conn.close()
        await api_engine.dispose()
        await worker_engine.dispose()
