"""whom to call: guardians' call name, phone and village; staff phone with an opt-in; words
flagged during enrolment (free texts without a household yet)

Revision ID: 0012p
Revises: 0009
Create Date: 2026-12-03 09:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0012p'
down_revision = '0011i'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('guardians', schema=None) as batch_op:
        batch_op.add_column(sa.Column('call_name', sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('village', sa.String(length=80), nullable=True))
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('phone', sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column('phone_visible', sa.Boolean(), server_default=sa.false(), nullable=False))
    with op.batch_alter_table('free_texts', schema=None) as batch_op:
        batch_op.alter_column('household_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('guardian_id', existing_type=sa.Integer(), nullable=True)
        batch_op.alter_column('kind', existing_type=sa.String(length=8), type_=sa.String(length=12),
                              existing_nullable=False)


def downgrade() -> None:
    op.execute("DELETE FROM free_texts WHERE household_id IS NULL OR guardian_id IS NULL")
    with op.batch_alter_table('free_texts', schema=None) as batch_op:
        batch_op.alter_column('kind', existing_type=sa.String(length=12), type_=sa.String(length=8),
                              existing_nullable=False)
        batch_op.alter_column('guardian_id', existing_type=sa.Integer(), nullable=False)
        batch_op.alter_column('household_id', existing_type=sa.Integer(), nullable=False)
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_column('phone_visible')
        batch_op.drop_column('phone')
    with op.batch_alter_table('guardians', schema=None) as batch_op:
        batch_op.drop_column('village')
        batch_op.drop_column('phone')
        batch_op.drop_column('call_name')
