"""auth failures: failed sign-ins per client address, shared by every API process

Revision ID: 0020l
Revises: 0019m
Create Date: 2026-12-03 13:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db


revision = '0020l'
down_revision = '0019m'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'auth_failures',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('address', sa.String(length=64), nullable=False),
        sa.Column('at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_failures')),
    )
    op.create_index('ix_auth_failures_address_at', 'auth_failures', ['address', 'at'], unique=False)
    op.create_index(op.f('ix_auth_failures_at'), 'auth_failures', ['at'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_auth_failures_at'), table_name='auth_failures')
    op.drop_index('ix_auth_failures_address_at', table_name='auth_failures')
    op.drop_table('auth_failures')
