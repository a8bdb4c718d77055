"""send budget: the adapted rate (AIMD) and the last cut, shared by sender processes

Revision ID: 0016s
Revises: 0009
Create Date: 2026-12-03 09:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db


revision = '0016s'
down_revision = '0015q'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('send_budget', schema=None) as batch_op:
        batch_op.add_column(sa.Column('rate', sa.Float(), nullable=True))
        batch_op.add_column(sa.Column('decreased_at', core.db.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column('cut_from', sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('send_budget', schema=None) as batch_op:
        batch_op.drop_column('cut_from')
        batch_op.drop_column('decreased_at')
        batch_op.drop_column('rate')
