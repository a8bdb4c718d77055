"""Shared fixtures. Every database-touching test runs on SQLite and, when
SHOUWANG_TEST_DATABASE_URL is set, again on PostgreSQL (the `db_url` fixture is parametrised).

Each test starts from a clean, migrated database: SQLite copies a migrated template file;
PostgreSQL gets a private database per run, migrated once and truncated before each test.
"""
from __future__ import annotations

import asyncio
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from datetime import datetime, timezone
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.config import Settings
from core.db import Base, make_engine, make_sessionmaker
from core.migrate import upgrade

PG_URL = os.environ.get("SHOUWANG_TEST_DATABASE_URL")
IN_CI = os.environ.get("CI", "").lower() == "true"
TEST_NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)  # 12:00 in Asia/Shanghai


async def _migrate(url: str) -> None:
    engine = make_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    asyncio.run(_migrate(f"sqlite+aiosqlite:///{path}"))
    return path


async def _create_private_database(url: str, name: str) -> str:
    """A database of this run's own on the given server, so concurrent runs never truncate
    each other's tables. Returns its URL."""
    from sqlalchemy.engine import make_url

    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()
    return make_url(url).set(database=name).render_as_string(hide_password=False)


async def _drop_private_database(url: str, name: str) -> None:
    admin = make_engine(url, isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@pytest.fixture(scope="session")
def pg_migrated() -> Iterator[str]:
    if not PG_URL:
        pytest.skip("PostgreSQL path: set SHOUWANG_TEST_DATABASE_URL to run it")
    name = f"shouwang_test_{os.getpid()}"
    try:
        url = asyncio.run(_create_private_database(PG_URL, name))
        asyncio.run(_migrate(url))
    except Exception as exc:  # noqa: BLE001
        if IN_CI:
            pytest.fail(f"SHOUWANG_TEST_DATABASE_URL is unreachable in CI: {exc}")
        pytest.skip(f"PostgreSQL unreachable: {exc}")
    yield url
    asyncio.run(_drop_private_database(PG_URL, name))


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template = request.getfixturevalue("sqlite_template")
        path = tmp_path / "test.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    return request.getfixturevalue("pg_migrated")


@pytest.fixture
async def engine(db_url: str) -> AsyncIterator[AsyncEngine]:
    engine = make_engine(db_url)
    if not db_url.startswith("sqlite"):
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    yield engine
    await engine.dispose()


@pytest.fixture
def sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return make_sessionmaker(engine)


@pytest.fixture
async def session(sessionmaker: async_sessionmaker[AsyncSession]) -> AsyncIterator[AsyncSession]:
    async with sessionmaker() as session:
        yield session


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(TEST_NOW)


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,
        database_url=db_url,
        var_dir=tmp_path / "var",
        telegram_token="123456:TEST-TOKEN",
        telegram_bot_username="shouwang_test_bot",
        admin_token="test-admin-token",
        # Reports computed afresh on every request in tests that change data between reads at one
        # frozen instant; tests/api/test_report_cache.py turns the cache on.
        report_cache_seconds=0,
    )


@pytest.fixture(autouse=True)
def _no_shouwang_env(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests never pick up a developer's SHOUWANG_* environment (except the test DB URL)."""
    for key in list(os.environ):
        if key.startswith("SHOUWANG_") and key != "SHOUWANG_TEST_DATABASE_URL":
            monkeypatch.delenv(key, raising=False)
    yield


@pytest.fixture
async def loaded_content(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    """The shipped content/ loaded into the test database (consent text, …)."""
    from core.config import PROJECT_ROOT
    from core.catalog.loading import load_content

    async with sessionmaker() as session, session.begin():
        await load_content(session, root=PROJECT_ROOT / "content", now=clock())
