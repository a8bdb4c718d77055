"""typed delivery references (ref_kind, ref_id), backfilled; indexes for the funnel report

A delivery's `ref` ("checkin:12", "alert:5:901", "campaign:3", "schedule") was only a string,
so the funnel joined check-ins to their deliveries on `'checkin:' || id`, which no index can
serve. The reference is now also stored typed — ref_kind "checkin", ref_id 12 — for every ref
of the form "<kind>:<digits>[:…]", and indexed. Existing rows are backfilled here in one
set-based UPDATE per engine (the same rule as core.delivery.outbox.ref_columns).

Revision ID: 0015q
Revises: 0009
Create Date: 2026-12-03 09:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0015q'
down_revision = '0009'
branch_labels = None
depends_on = None

# Largest id a 32-bit INTEGER holds: longer digit runs are not ids (left NULL).
_MAX_DIGITS = 9

_BACKFILL_POSTGRESQL = rf"""
UPDATE deliveries
SET ref_kind = split_part(ref, ':', 1),
    ref_id = split_part(ref, ':', 2)::integer
WHERE ref ~ '^[a-z_]{{1,24}}:[0-9]{{1,{_MAX_DIGITS}}}(:|$)'
"""

# SQLite has no regular expressions by default: the id is the text between the first and the
# second colon (or the end), which must be 1..9 digits; the kind 1..24 of a-z and _.
_SQLITE_REST = "substr(ref, instr(ref, ':') + 1)"
_SQLITE_ID = (f"CASE WHEN instr({_SQLITE_REST}, ':') > 0 "
              f"THEN substr({_SQLITE_REST}, 1, instr({_SQLITE_REST}, ':') - 1) ELSE {_SQLITE_REST} END")
_BACKFILL_SQLITE = f"""
UPDATE deliveries
SET ref_kind = substr(ref, 1, instr(ref, ':') - 1),
    ref_id = CAST({_SQLITE_ID} AS INTEGER)
WHERE instr(ref, ':') BETWEEN 2 AND 25
  AND substr(ref, 1, instr(ref, ':') - 1) NOT GLOB '*[^a-z_]*'
  AND length({_SQLITE_ID}) BETWEEN 1 AND {_MAX_DIGITS}
  AND {_SQLITE_ID} NOT GLOB '*[^0-9]*'
"""


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ref_kind', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('ref_id', sa.Integer(), nullable=True))
    bind = op.get_bind()
    op.execute(_BACKFILL_POSTGRESQL if bind.dialect.name == 'postgresql' else _BACKFILL_SQLITE)
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_ref', ['ref_kind', 'ref_id'], unique=False)

    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_check_ins_cohort_id'))
        batch_op.create_index('ix_check_ins_cohort_created', ['cohort_id', 'created_at'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.drop_index('ix_check_ins_cohort_created')
        batch_op.create_index(batch_op.f('ix_check_ins_cohort_id'), ['cohort_id'], unique=False)

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_ref')
        batch_op.drop_column('ref_id')
        batch_op.drop_column('ref_kind')
