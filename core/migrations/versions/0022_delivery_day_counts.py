"""delivery statistics from a per-day pre-aggregate kept by triggers, on SQLite (issue #16)

Revision ID: 0022d
Revises: 0021p
Create Date: 2026-12-03 18:40:00

Also an index guardians (household_id, unreachable_at): the statistics' count of unreachable
guardians of a cohort from the index alone.

delivery_day_counts holds, per cohort, UTC day of creation, kind, state and lesson, how many
deliveries there are. On SQLite, triggers on deliveries keep it exactly right in the
transaction of every insert, delete (cascades included) and change of those columns, whatever
statement made it; the upgrade builds it from the rows already there. A later migration that
rebuilds `deliveries` (SQLite batch mode copies the table and drops its triggers) must call
create_triggers() again.

On PostgreSQL the table is created (the models are the same on both engines) but stays empty:
no triggers. There several senders record outcomes at once; every state change would update a
shared counter row, so they would serialise on its lock, and batches touching counters in
different orders could deadlock, aborting a sender's result write after the message went out
(sent twice). SQLite has one writer at a time, so neither can happen there; PostgreSQL counts
the outbox directly fast enough (core.delivery.stats).
"""
from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op


revision = '0022d'
down_revision = '0021p'
branch_labels = None
depends_on = None

KEY = "cohort_id, day, kind, state, lesson_id"

# SQLite keeps UTC times as naive "YYYY-MM-DD HH:MM:SS.ffffff" text (core.db.UTCDateTime).
_SQLITE_DAY = "substr({row}.created_at, 1, 10)"


def _sqlite_step(row: str, sign: str) -> str:
    return (f"INSERT INTO delivery_day_counts ({KEY}, n) "
            f"SELECT {row}.cohort_id, {_SQLITE_DAY.format(row=row)}, {row}.kind, {row}.state, "
            f"coalesce({row}.lesson_id, ''), {sign}1 WHERE {row}.cohort_id IS NOT NULL "
            f"ON CONFLICT ({KEY}) DO UPDATE SET n = n {sign} 1;")


_CHANGED = ("OLD.cohort_id IS NOT NEW.cohort_id OR OLD.created_at IS NOT NEW.created_at OR OLD.kind IS NOT NEW.kind "
            "OR OLD.state IS NOT NEW.state OR OLD.lesson_id IS NOT NEW.lesson_id")

SQLITE_TRIGGERS = (
    "CREATE TRIGGER delivery_day_counts_insert AFTER INSERT ON deliveries "
    f"BEGIN {_sqlite_step('NEW', '+')} END",
    "CREATE TRIGGER delivery_day_counts_delete AFTER DELETE ON deliveries "
    f"BEGIN {_sqlite_step('OLD', '-')} END",
    "CREATE TRIGGER delivery_day_counts_update AFTER UPDATE OF cohort_id, created_at, kind, state, lesson_id "
    f"ON deliveries WHEN {_CHANGED} BEGIN {_sqlite_step('OLD', '-')} {_sqlite_step('NEW', '+')} END",
)
DROP_SQLITE = tuple(f"DROP TRIGGER IF EXISTS delivery_day_counts_{name}" for name in ("insert", "delete", "update"))


def kept(bind: Any) -> bool:
    """Whether this engine keeps the pre-aggregate: SQLite only (see the module's docstring)."""
    return bool(bind.dialect.name == "sqlite")


def create_triggers(bind: Any) -> None:
    if kept(bind):
        for statement in SQLITE_TRIGGERS:
            bind.exec_driver_sql(statement)


def rebuild(bind: Any) -> None:
    """The counts from the deliveries there are (inside the migration's transaction)."""
    if not kept(bind):
        return
    bind.exec_driver_sql("DELETE FROM delivery_day_counts")
    bind.exec_driver_sql(
        f"INSERT INTO delivery_day_counts ({KEY}, n) "
        f"SELECT d.cohort_id, {_SQLITE_DAY.format(row='d')}, d.kind, d.state, coalesce(d.lesson_id, ''), count(*) "
        f"FROM deliveries AS d WHERE d.cohort_id IS NOT NULL "
        f"GROUP BY d.cohort_id, {_SQLITE_DAY.format(row='d')}, d.kind, d.state, coalesce(d.lesson_id, '')")


def upgrade() -> None:
    op.create_table(
        'delivery_day_counts',
        sa.Column('cohort_id', sa.Integer(), nullable=False),
        sa.Column('day', sa.Date(), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('state', sa.String(length=12), nullable=False),
        sa.Column('lesson_id', sa.String(length=64), nullable=False),
        sa.Column('n', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('cohort_id', 'day', 'kind', 'state', 'lesson_id', name=op.f('pk_delivery_day_counts')),
    )
    op.create_index('ix_guardians_household_unreachable', 'guardians', ['household_id', 'unreachable_at'],
                    unique=False)
    bind = op.get_bind()
    create_triggers(bind)
    rebuild(bind)


def downgrade() -> None:
    bind = op.get_bind()
    if kept(bind):
        for statement in DROP_SQLITE:
            bind.exec_driver_sql(statement)
    op.drop_table('delivery_day_counts')
    op.drop_index('ix_guardians_household_unreachable', table_name='guardians')
