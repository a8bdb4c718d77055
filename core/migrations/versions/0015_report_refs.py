"""typed delivery references (ref_kind, ref_id), check_ins.sent_at; indexes for the reports

A delivery's `ref` ("checkin:12", "alert:5:901", "campaign:3", "schedule") was only a string,
so the funnel joined check-ins to their deliveries on `'checkin:' || id`, which no index can
serve. The reference is now also stored typed — ref_kind "checkin", ref_id 12 — for every ref
of the form "<kind>:<digits>[:…]", and indexed. Existing rows are backfilled here in one
set-based UPDATE per engine (the same rule as core.models.delivery.ref_columns).

check_ins.sent_at records when a check-in's first message first reached a guardian, so the
funnel counts "sent" check-ins from one covering index instead of probing deliveries for each
of tens of thousands of check-ins. The database keeps it: a trigger on deliveries sets it when a
"checkin" delivery to a guardian is written sent or becomes sent — whichever code path (sender,
handler, test) does it. Backfilled here from the deliveries already sent. The per-cohort
statistics index now covers what the statistics count (kind, state, lesson).

Revision ID: 0015q
Revises: 0009
Create Date: 2026-12-03 09:30:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db


revision = '0015q'
down_revision = '0014f'
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


# The trigger's condition: the same as the funnel's former per-row EXISTS.
_REACHED = "NEW.state = 'sent' AND NEW.kind = 'checkin' AND NEW.ref_kind = 'checkin' AND NEW.guardian_id IS NOT NULL"
_SET_SENT_AT = ("UPDATE check_ins SET sent_at = COALESCE(NEW.sent_at, NEW.finished_at, NEW.created_at) "
                "WHERE id = NEW.ref_id AND sent_at IS NULL")
_TRIGGERS_SQLITE = [
    f"CREATE TRIGGER trg_deliveries_checkin_sent_insert AFTER INSERT ON deliveries "
    f"WHEN {_REACHED} BEGIN {_SET_SENT_AT}; END",
    f"CREATE TRIGGER trg_deliveries_checkin_sent_update AFTER UPDATE OF state ON deliveries "
    f"WHEN {_REACHED} BEGIN {_SET_SENT_AT}; END",
]
_TRIGGERS_POSTGRESQL = [
    f"CREATE FUNCTION check_in_sent() RETURNS trigger LANGUAGE plpgsql AS $$ "
    f"BEGIN {_SET_SENT_AT}; RETURN NULL; END $$",
    f"CREATE TRIGGER trg_deliveries_checkin_sent AFTER INSERT OR UPDATE OF state ON deliveries "
    f"FOR EACH ROW WHEN ({_REACHED}) EXECUTE FUNCTION check_in_sent()",
]
_BACKFILL_SENT_AT = """
UPDATE check_ins SET sent_at = (
    SELECT COALESCE(MIN(d.sent_at), MIN(d.finished_at), MIN(d.created_at)) FROM deliveries d
    WHERE d.ref_kind = 'checkin' AND d.ref_id = check_ins.id AND d.kind = 'checkin' AND d.state = 'sent'
      AND d.guardian_id IS NOT NULL)
WHERE EXISTS (
    SELECT 1 FROM deliveries d
    WHERE d.ref_kind = 'checkin' AND d.ref_id = check_ins.id AND d.kind = 'checkin' AND d.state = 'sent'
      AND d.guardian_id IS NOT NULL)
"""


def upgrade() -> None:
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('ref_kind', sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column('ref_id', sa.Integer(), nullable=True))
    bind = op.get_bind()
    op.execute(_BACKFILL_POSTGRESQL if bind.dialect.name == 'postgresql' else _BACKFILL_SQLITE)
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.create_index('ix_deliveries_ref', ['ref_kind', 'ref_id'], unique=False)
        batch_op.drop_index('ix_deliveries_cohort_created')
        batch_op.create_index('ix_deliveries_cohort_created', ['cohort_id', 'created_at', 'kind', 'state', 'lesson_id'],
                              unique=False)

    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sent_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.drop_index(batch_op.f('ix_check_ins_cohort_id'))
        batch_op.create_index('ix_check_ins_cohort_created', ['cohort_id', 'created_at', 'state', 'sent_at'],
                              unique=False)
    op.execute(_BACKFILL_SENT_AT)
    # A check-in history lists every alert about the child or naming one of its check-ins.
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_subject_key'), ['subject_key'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_check_in_id'), ['check_in_id'], unique=False)
    # After every batch_alter_table of deliveries: SQLite's batch mode rebuilds the table, which
    # would drop triggers created before it.
    for statement in (_TRIGGERS_POSTGRESQL if bind.dialect.name == 'postgresql' else _TRIGGERS_SQLITE):
        op.execute(statement)


def downgrade() -> None:
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_check_in_id'))
        batch_op.drop_index(batch_op.f('ix_alerts_subject_key'))
    if op.get_bind().dialect.name == 'postgresql':
        op.execute("DROP TRIGGER trg_deliveries_checkin_sent ON deliveries")
        op.execute("DROP FUNCTION check_in_sent()")
    else:
        op.execute("DROP TRIGGER trg_deliveries_checkin_sent_insert")
        op.execute("DROP TRIGGER trg_deliveries_checkin_sent_update")
    with op.batch_alter_table('check_ins', schema=None) as batch_op:
        batch_op.drop_index('ix_check_ins_cohort_created')
        batch_op.create_index(batch_op.f('ix_check_ins_cohort_id'), ['cohort_id'], unique=False)
        batch_op.drop_column('sent_at')

    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_deliveries_cohort_created')
        batch_op.create_index('ix_deliveries_cohort_created', ['cohort_id', 'created_at'], unique=False)
        batch_op.drop_index('ix_deliveries_ref')
        batch_op.drop_column('ref_id')
        batch_op.drop_column('ref_kind')
