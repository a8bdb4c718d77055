"""delivery statistics from a per-day pre-aggregate kept by triggers (issue #16)

Revision ID: 0022d
Revises: 0021p
Create Date: 2026-12-03 18:40:00

Also an index guardians (household_id, unreachable_at): the statistics' count of unreachable
guardians of a cohort from the index alone.

delivery_day_counts holds, per cohort, UTC day of creation, kind, state and lesson, how many
deliveries there are. Triggers on deliveries keep it exactly right in the transaction of every
insert, delete (cascades included) and change of those columns, whatever statement made it; the
upgrade builds it from the rows already there. A later migration that rebuilds `deliveries`
(SQLite batch mode copies the table and drops its triggers) must call create_triggers() again.
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
_PG_DAY = "(({row}.created_at) AT TIME ZONE 'UTC')::date"


def _sqlite_step(row: str, sign: str) -> str:
    return (f"INSERT INTO delivery_day_counts ({KEY}, n) "
            f"SELECT {row}.cohort_id, {_SQLITE_DAY.format(row=row)}, {row}.kind, {row}.state, "
            f"coalesce({row}.lesson_id, ''), {sign}1 WHERE {row}.cohort_id IS NOT NULL "
            f"ON CONFLICT ({KEY}) DO UPDATE SET n = n {sign} 1;")


_CHANGED = ("OLD.cohort_id IS NOT NEW.cohort_id OR OLD.created_at IS NOT NEW.created_at OR OLD.kind IS NOT NEW.kind "
            "OR OLD.state IS NOT NEW.state OR OLD.lesson_id IS NOT NEW.lesson_id")
_PG_CHANGED = _CHANGED.replace(" IS NOT ", " IS DISTINCT FROM ")

SQLITE_TRIGGERS = (
    "CREATE TRIGGER delivery_day_counts_insert AFTER INSERT ON deliveries "
    f"BEGIN {_sqlite_step('NEW', '+')} END",
    "CREATE TRIGGER delivery_day_counts_delete AFTER DELETE ON deliveries "
    f"BEGIN {_sqlite_step('OLD', '-')} END",
    "CREATE TRIGGER delivery_day_counts_update AFTER UPDATE OF cohort_id, created_at, kind, state, lesson_id "
    f"ON deliveries WHEN {_CHANGED} BEGIN {_sqlite_step('OLD', '-')} {_sqlite_step('NEW', '+')} END",
)


def _pg_step(row: str, sign: str) -> str:
    return (f"IF {row}.cohort_id IS NOT NULL THEN "
            f"INSERT INTO delivery_day_counts AS c ({KEY}, n) VALUES ({row}.cohort_id, {_PG_DAY.format(row=row)}, "
            f"{row}.kind, {row}.state, coalesce({row}.lesson_id, ''), {sign}1) "
            f"ON CONFLICT ({KEY}) DO UPDATE SET n = c.n {sign} 1; END IF;")


PG_TRIGGERS = (
    # The old key first, then the new: every transaction takes the counters' row locks in the
    # same order for one delivery.
    "CREATE FUNCTION delivery_day_counts_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
    f"IF TG_OP <> 'INSERT' THEN {_pg_step('OLD', '-')} END IF; "
    f"IF TG_OP <> 'DELETE' THEN {_pg_step('NEW', '+')} END IF; "
    "RETURN NULL; END $$",
    "CREATE TRIGGER delivery_day_counts_insert_delete AFTER INSERT OR DELETE ON deliveries "
    "FOR EACH ROW EXECUTE FUNCTION delivery_day_counts_change()",
    "CREATE TRIGGER delivery_day_counts_update AFTER UPDATE OF cohort_id, created_at, kind, state, lesson_id "
    f"ON deliveries FOR EACH ROW WHEN ({_PG_CHANGED}) EXECUTE FUNCTION delivery_day_counts_change()",
)

DROP_SQLITE = tuple(f"DROP TRIGGER IF EXISTS delivery_day_counts_{name}" for name in ("insert", "delete", "update"))
DROP_PG = ("DROP TRIGGER IF EXISTS delivery_day_counts_insert_delete ON deliveries",
           "DROP TRIGGER IF EXISTS delivery_day_counts_update ON deliveries",
           "DROP FUNCTION IF EXISTS delivery_day_counts_change()")


def create_triggers(bind: Any) -> None:
    for statement in (PG_TRIGGERS if bind.dialect.name == "postgresql" else SQLITE_TRIGGERS):
        bind.exec_driver_sql(statement)


def rebuild(bind: Any) -> None:
    """The counts from the deliveries there are (inside the migration's transaction)."""
    day = _PG_DAY if bind.dialect.name == "postgresql" else _SQLITE_DAY
    bind.exec_driver_sql("DELETE FROM delivery_day_counts")
    bind.exec_driver_sql(
        f"INSERT INTO delivery_day_counts ({KEY}, n) "
        f"SELECT d.cohort_id, {day.format(row='d')}, d.kind, d.state, coalesce(d.lesson_id, ''), count(*) "
        f"FROM deliveries AS d WHERE d.cohort_id IS NOT NULL "
        f"GROUP BY d.cohort_id, {day.format(row='d')}, d.kind, d.state, coalesce(d.lesson_id, '')")


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
    for statement in (DROP_PG if bind.dialect.name == "postgresql" else DROP_SQLITE):
        bind.exec_driver_sql(statement)
    op.drop_table('delivery_day_counts')
    op.drop_index('ix_guardians_household_unreachable', table_name='guardians')
