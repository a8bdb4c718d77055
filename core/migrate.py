"""Run Alembic migrations programmatically over an async engine."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


def alembic_config() -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


async def upgrade(engine: AsyncEngine, revision: str = "head") -> None:
    await _migrate(engine, command.upgrade, revision)


async def downgrade(engine: AsyncEngine, revision: str) -> None:
    await _migrate(engine, command.downgrade, revision)


async def _migrate(engine: AsyncEngine, step: Any, revision: str) -> None:
    """Run one Alembic command in one transaction.

    SQLite: batch mode rebuilds a table (copy, DROP, rename), and with foreign keys on, the DROP
    of a parent table first deletes its rows — cascading into every child table (deliveries,
    answers, endpoints …). So foreign keys are switched off for the migration, as SQLite's own
    procedure for altering tables says (the pragma only works outside a transaction, hence
    before BEGIN), and `PRAGMA foreign_key_check` must find nothing wrong before the commit."""
    cfg = alembic_config()

    def _run(connection: Any) -> None:
        cfg.attributes["connection"] = connection
        step(cfg, revision)
        if connection.dialect.name == "sqlite":
            broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
            if broken:
                raise RuntimeError(f"migration left rows without their parent: {broken[:5]}")

    async with engine.connect() as conn:
        driver = None
        if conn.dialect.name == "sqlite":
            driver = (await conn.get_raw_connection()).driver_connection
            if driver is not None:
                await driver.execute("PRAGMA foreign_keys=OFF")
        try:
            async with conn.begin():
                await conn.run_sync(_run)
        finally:
            if driver is not None:
                await driver.execute("PRAGMA foreign_keys=ON")


async def current_revision(engine: AsyncEngine) -> str | None:
    def _current(connection: Any) -> str | None:
        return MigrationContext.configure(connection).get_current_revision()

    async with engine.connect() as conn:
        return await conn.run_sync(_current)

