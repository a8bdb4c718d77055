"""the case plan's measures (一人一案): text, the person responsible, the due date

Revision ID: 0021p
Revises: 0020l
Create Date: 2026-12-03 14:20:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db


revision = '0021p'
down_revision = '0020l'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'case_measures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('case_id', sa.Integer(), nullable=False),
        sa.Column('text', sa.String(length=500), nullable=False),
        sa.Column('responsible', sa.String(length=100), nullable=False),
        sa.Column('due_on', sa.Date(), nullable=True),
        sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('created_by_staff_id', sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(['case_id'], ['cases.id'], name=op.f('fk_case_measures_case_id_cases'),
                                ondelete='CASCADE'),
        sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff.id'],
                                name=op.f('fk_case_measures_created_by_staff_id_staff'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_case_measures')),
    )
    op.create_index(op.f('ix_case_measures_case_id'), 'case_measures', ['case_id'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_case_measures_case_id'), table_name='case_measures')
    op.drop_table('case_measures')
