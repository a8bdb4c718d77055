"""One first-come-first-served write gate per SQLite file for the whole process (core.db.WriteGate,
issue #16): writers on different engines of one file queue in order instead of polling in
SQLite's busy handler, a session nested inside another's write transaction gives up after the
busy timeout instead of waiting forever, readers never take it, and PostgreSQL has none."""
from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import is_busy, make_engine, make_sessionmaker, read_only_sessionmaker, write_gate
from core.models import Heartbeat
from tests.conftest import TEST_NOW


async def _file_engines(path: Path, count: int, **kwargs: object) -> list[AsyncEngine]:
    url = f"sqlite+aiosqlite:///{path}"
    engines = [make_engine(url, **kwargs) for _ in range(count)]  # type: ignore[arg-type]
    async with engines[0].begin() as conn:
        await conn.execute(text("CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, who TEXT)"))
    return engines


async def _until(condition: object, *, turns: int = 10_000) -> None:
    """Let other tasks run (no sleeping on the clock) until `condition()` holds."""
    for _ in range(turns):
        if condition():  # type: ignore[operator]
            return
        await asyncio.sleep(0)
    raise AssertionError("condition never held")


async def test_a_waiting_writer_gets_in_between_back_to_back_transactions(tmp_path: Path) -> None:
    """Engine A (the tick) commits and at once begins again; engine B's writer, which was
    already waiting, gets in between. Polling in SQLite's busy handler (sleeps of up to 100 ms)
    it missed that gap and came after A's second transaction."""
    first, second = await _file_engines(tmp_path / "gate.db", 2)
    try:
        gate = write_gate(first)
        assert gate is not None and write_gate(second) is gate  # one gate per file

        async def other_writer() -> None:
            async with second.begin() as conn:
                await conn.execute(text("INSERT INTO t (who) VALUES ('b')"))

        async with first.begin() as conn:
            await conn.execute(text("INSERT INTO t (who) VALUES ('a1')"))
            waiting = asyncio.create_task(other_writer())
            await _until(lambda: gate.waiting == 1)
        async with first.begin() as conn:  # back to back, as the tick's steps are
            await conn.execute(text("INSERT INTO t (who) VALUES ('a2')"))
        await asyncio.wait_for(waiting, timeout=5)
        async with first.connect() as conn:
            order = (await conn.execute(text("SELECT who FROM t ORDER BY id"))).scalars().all()
        assert order == ["a1", "b", "a2"]
        assert gate.holder is None and gate.waiting == 0
    finally:
        for engine in (first, second):
            await engine.dispose()


async def test_writers_get_in_in_the_order_they_asked(tmp_path: Path) -> None:
    engines = await _file_engines(tmp_path / "order.db", 3)
    try:
        gate = write_gate(engines[0])
        assert gate is not None

        async def write(engine: AsyncEngine, who: str) -> None:
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (who) VALUES (:who)"), {"who": who})

        tasks = []
        async with engines[0].begin() as conn:
            await conn.execute(text("INSERT INTO t (who) VALUES ('first')"))
            for index, who in enumerate(["w1", "w2", "w3", "w4"]):
                tasks.append(asyncio.create_task(write(engines[1 + index % 2], who)))
                await _until(lambda n=index + 1: gate.waiting == n)
        await asyncio.wait_for(asyncio.gather(*tasks), timeout=5)
        async with engines[0].connect() as conn:
            order = (await conn.execute(text("SELECT who FROM t ORDER BY id"))).scalars().all()
        assert order == ["first", "w1", "w2", "w3", "w4"]
    finally:
        for engine in engines:
            await engine.dispose()


@pytest.mark.parametrize("same_engine", [True, False])
async def test_a_nested_writer_gives_up_after_the_busy_timeout(tmp_path: Path, same_engine: bool) -> None:
    """A write transaction opened inside another's (same file) would wait for it forever: it
    gives up after the busy timeout with "database is locked" (a 503 in the API), and the gate
    is free again afterwards."""
    engines = await _file_engines(tmp_path / "nested.db", 2, busy_timeout=0.2)
    outer_engine, inner_engine = (engines[0], engines[0]) if same_engine else engines
    gate = write_gate(outer_engine)
    assert gate is not None
    try:
        async with outer_engine.begin() as outer:
            await outer.execute(text("INSERT INTO t (who) VALUES ('outer')"))
            started = time.monotonic()
            with pytest.raises(OperationalError) as caught:
                async with inner_engine.begin() as inner:
                    await asyncio.wait_for(inner.execute(text("INSERT INTO t (who) VALUES ('inner')")), 5)
            assert is_busy(caught.value)
            assert time.monotonic() - started < 3
            assert gate.waiting == 0
        assert gate.holder is None
        async with inner_engine.begin() as conn:  # the gate is usable again
            await conn.execute(text("INSERT INTO t (who) VALUES ('after')"))
        async with outer_engine.connect() as conn:
            assert (await conn.execute(text("SELECT who FROM t ORDER BY id"))).scalars().all() == ["outer", "after"]
    finally:
        for engine in engines:
            await engine.dispose()


async def test_a_rollback_or_a_lost_connection_gives_the_gate_up(tmp_path: Path) -> None:
    (engine,) = await _file_engines(tmp_path / "rollback.db", 1)
    gate = write_gate(engine)
    assert gate is not None
    try:
        with pytest.raises(RuntimeError):
            async with engine.begin() as conn:
                await conn.execute(text("INSERT INTO t (who) VALUES ('x')"))
                assert gate.holder is not None
                raise RuntimeError("route failed")
        assert gate.holder is None
        async with engine.connect() as conn:
            await conn.begin()
            await conn.execute(text("INSERT INTO t (who) VALUES ('y')"))
            assert gate.holder is not None
            await conn.invalidate()
        assert gate.holder is None
        async with engine.connect() as conn:  # neither row was committed
            assert (await conn.execute(text("SELECT count(*) FROM t"))).scalar() == 0
    finally:
        await engine.dispose()


async def test_reads_never_take_the_gate(engine: AsyncEngine, db_url: str) -> None:
    if not db_url.startswith("sqlite"):
        pytest.skip("SQLite's write gate")
    gate = write_gate(engine)
    assert gate is not None
    before = gate.acquired
    async with make_sessionmaker(engine)() as holding:
        holding.add(Heartbeat(name="held", at=TEST_NOW))
        await holding.flush()  # holds the gate and SQLite's write lock
        assert gate.acquired == before + 1
        async with read_only_sessionmaker(engine)() as session:
            names = await asyncio.wait_for(session.scalars(select(Heartbeat.name)), timeout=2)
            assert "held" not in names.all()
            await session.commit()
        assert gate.acquired == before + 1 and gate.waiting == 0
        await holding.commit()


async def test_postgresql_has_no_gate_and_writers_run_side_by_side(engine: AsyncEngine, db_url: str) -> None:
    if not db_url.startswith("postgresql"):
        pytest.skip("PostgreSQL path")
    assert write_gate(engine) is None
    maker = make_sessionmaker(engine)
    async with maker() as first:
        first.add(Heartbeat(name="first", at=TEST_NOW))
        await first.flush()  # a write transaction left open
        async with maker() as second:  # another writer commits meanwhile, without waiting
            second.add(Heartbeat(name="second", at=TEST_NOW))
            await asyncio.wait_for(second.commit(), timeout=2)
        await first.commit()
    async with maker() as check:
        assert set((await check.scalars(select(Heartbeat.name))).all()) >= {"first", "second"}
