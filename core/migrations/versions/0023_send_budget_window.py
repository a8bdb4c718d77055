"""send_budget.grants: a shared sliding window of recent grants (issue #16 item 8)

Revision ID: 0023w
Revises: 0022d
Create Date: 2026-12-03 19:10:00

The token bucket alone let any one second carry the rate plus its burst (1.25× at paid
broadcast); the grants of the last second, kept in the row, let the senders together stay
under the rate in every one-second window. Existing rows keep their rate and pause; their
window starts empty.
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0023w'
down_revision = '0022d'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('send_budget', schema=None) as batch_op:
        batch_op.add_column(sa.Column('grants', sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('send_budget', schema=None) as batch_op:
        batch_op.drop_column('grants')
