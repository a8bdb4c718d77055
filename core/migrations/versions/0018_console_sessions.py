"""staff web console: sessions and one-time sign-in codes (hashes only)

Revision ID: 0018c
Revises: 0017e
Create Date: 2026-12-03 12:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db


revision = '0018c'
down_revision = '0017e'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('staff_web_sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('method', sa.String(length=16), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('revoked_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_by_staff_id', sa.Integer(), nullable=True),
    sa.Column('user_agent', sa.String(length=120), nullable=True),
    sa.ForeignKeyConstraint(['revoked_by_staff_id'], ['staff.id'],
                            name=op.f('fk_staff_web_sessions_revoked_by_staff_id_staff'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_web_sessions_staff_id_staff'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_web_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_staff_web_sessions_token_hash'))
    )
    with op.batch_alter_table('staff_web_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_web_sessions_staff_id'), ['staff_id'], unique=False)

    op.create_table('staff_signin_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('staff_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('link_hash', sa.String(length=64), nullable=False),
    sa.Column('browser_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_staff_signin_codes_staff_id_staff'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_staff_signin_codes')),
    sa.UniqueConstraint('link_hash', name=op.f('uq_staff_signin_codes_link_hash'))
    )
    with op.batch_alter_table('staff_signin_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_staff_signin_codes_browser_hash'), ['browser_hash'], unique=False)
        batch_op.create_index(batch_op.f('ix_staff_signin_codes_staff_id'), ['staff_id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('staff_signin_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_signin_codes_staff_id'))
        batch_op.drop_index(batch_op.f('ix_staff_signin_codes_browser_hash'))
    op.drop_table('staff_signin_codes')
    with op.batch_alter_table('staff_web_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_staff_web_sessions_staff_id'))
    op.drop_table('staff_web_sessions')
