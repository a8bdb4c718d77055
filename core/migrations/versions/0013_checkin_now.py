"""check-ins sent now by staff: who asked for the round and why

Revision ID: 0013c
Revises: 0009
Create Date: 2026-12-03 09:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0013c'
down_revision = '0012p'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('check_in_rounds', schema=None) as batch_op:
        batch_op.add_column(sa.Column('requested_by_staff_id', sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column('reason', sa.String(length=500), nullable=True))
        batch_op.create_foreign_key(batch_op.f('fk_check_in_rounds_requested_by_staff_id_staff'), 'staff',
                                    ['requested_by_staff_id'], ['id'], ondelete='SET NULL')


def downgrade() -> None:
    with op.batch_alter_table('check_in_rounds', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_check_in_rounds_requested_by_staff_id_staff'), type_='foreignkey')
        batch_op.drop_column('reason')
        batch_op.drop_column('requested_by_staff_id')
