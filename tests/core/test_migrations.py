"""`alembic upgrade head` on an empty database works, and the models and migrations agree."""
from __future__ import annotations

import os
from collections.abc import AsyncIterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

from core.db import Base, make_engine
from core.migrate import upgrade
from core.models.delivery import ref_columns
from core.migrate import current_revision
from core.migrate import alembic_config
from alembic.script import ScriptDirectory


async def test_upgrade_head_reaches_latest_revision(engine: AsyncEngine) -> None:
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert await current_revision(engine) == head


async def test_models_and_migrations_agree(engine: AsyncEngine) -> None:
    def diff(connection: Any) -> list[Any]:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        return compare_metadata(context, Base.metadata)

    async with engine.connect() as conn:
        differences = await conn.run_sync(diff)
    assert differences == []


# ---------------------------------------------------------------- 0015: typed delivery references

REFS = {
    # ref → (ref_kind, ref_id) the backfill must give it (the rule of ref_columns)
    "checkin:12": ("checkin", 12),
    "checkin:7:q3": ("checkin", 7),
    "alert:5:901": ("alert", 5),
    "campaign:3": ("campaign", 3),
    "lesson_followup:44": ("lesson_followup", 44),
    "household:123456789": ("household", 123456789),
    "schedule": (None, None),
    "request": (None, None),
    "checkin:": (None, None),
    "checkin:x1": (None, None),
    "checkin:1234567890": (None, None),  # not an INTEGER id
    ":5": (None, None),
    "Alert:5": (None, None),
}


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    from alembic import command

    cfg = alembic_config()

    def _run(connection: Any) -> None:
        cfg.attributes["connection"] = connection
        command.downgrade(cfg, revision)

    async with engine.begin() as conn:
        await conn.run_sync(_run)


@pytest.fixture(params=["sqlite", "postgresql"])
async def empty_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
        return
    from tests.conftest import PG_URL, _create_private_database, _drop_private_database

    if not PG_URL:
        pytest.skip("PostgreSQL path: set SHOUWANG_TEST_DATABASE_URL to run it")
    name = f"shouwang_test_backfill_{os.getpid()}"
    yield await _create_private_database(PG_URL, name)
    await _drop_private_database(PG_URL, name)


async def test_typed_refs_are_backfilled_from_existing_rows(empty_url: str) -> None:
    """A database with deliveries from before 0015 gets (ref_kind, ref_id) filled by the
    migration with the same rule new rows get from ref_columns, and downgrades again."""
    engine = make_engine(empty_url)
    try:
        await upgrade(engine, "0009")
        at = datetime(2026, 11, 1, tzinfo=timezone.utc)
        async with engine.begin() as conn:
            for n, ref in enumerate(REFS):
                await conn.execute(
                    text("INSERT INTO deliveries (chat_id, kind, ref, cycle, lane, state, due_at, attempts, payload, "
                         "created_at) VALUES (:chat, 'checkin', :ref, '1', 1, 'sent', :at, 1, '{}', :at)"),
                    {"chat": 1000 + n, "ref": ref, "at": at.replace(tzinfo=None) if "sqlite" in empty_url else at},
                )
        await upgrade(engine)
        async with engine.connect() as conn:
            got = {ref: (kind, ref_id) for ref, kind, ref_id in
                   await conn.execute(text("SELECT ref, ref_kind, ref_id FROM deliveries"))}
        assert got == REFS
        assert {ref: tuple(ref_columns(ref).values()) for ref in REFS} == REFS  # one rule, two places
        await downgrade(engine, "0009")
        async with engine.connect() as conn:
            assert await conn.scalar(text("SELECT count(*) FROM deliveries")) == len(REFS)
    finally:
        await engine.dispose()
