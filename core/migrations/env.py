"""Alembic environment. Used by `shouwang db upgrade` and by tests, always through core.migrate,
which hands us a live connection (the cookbook's connection-sharing recipe for asyncio)."""
from __future__ import annotations

from alembic import context

import core.models  # noqa: F401  (registers every table on the metadata)
from core.db import Base

config = context.config
target_metadata = Base.metadata


def run_migrations_online() -> None:
    connection = config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through core.migrate (shouwang db upgrade)")
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


if context.is_offline_mode():
    raise RuntimeError("offline migrations are not supported; use shouwang db upgrade")
run_migrations_online()
