"""guardians on the mobile web and the SMS channel: sign-in codes, web sessions, one-time links,
SMS messages with their receipts, channel problems

Revision ID: 0019m
Revises: 0018c
Create Date: 2026-12-03 12:45:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db


revision = '0019m'
down_revision = '0018c'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'web_sign_in_codes',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('challenge_hash', sa.String(length=64), nullable=False),
        sa.Column('phone_hash', sa.String(length=64), nullable=False),
        sa.Column('ip_hash', sa.String(length=64), nullable=False),
        sa.Column('guardian_id', sa.Integer(), nullable=True),
        sa.Column('code_hash', sa.String(length=64), nullable=False),
        sa.Column('tries', sa.Integer(), nullable=False),
        sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('locked_at', core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'],
                                name=op.f('fk_web_sign_in_codes_guardian_id_guardians'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sign_in_codes')),
        sa.UniqueConstraint('challenge_hash', name=op.f('uq_web_sign_in_codes_challenge_hash')),
    )
    op.create_index('ix_web_sign_in_codes_phone_at', 'web_sign_in_codes', ['phone_hash', 'created_at'])
    op.create_index('ix_web_sign_in_codes_ip_at', 'web_sign_in_codes', ['ip_hash', 'created_at'])
    op.create_table(
        'web_sessions',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('guardian_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('via', sa.String(length=8), nullable=False),
        sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('last_seen_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('ended_at', core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'],
                                name=op.f('fk_web_sessions_guardian_id_guardians'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_sessions')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_web_sessions_token_hash')),
    )
    op.create_index(op.f('ix_web_sessions_guardian_id'), 'web_sessions', ['guardian_id'])
    op.create_table(
        'web_links',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('guardian_id', sa.Integer(), nullable=False),
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('created_by_staff_id', sa.Integer(), nullable=True),
        sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('expires_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('used_at', core.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(['created_by_staff_id'], ['staff.id'],
                                name=op.f('fk_web_links_created_by_staff_id_staff'), ondelete='SET NULL'),
        sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'],
                                name=op.f('fk_web_links_guardian_id_guardians'), ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_web_links')),
        sa.UniqueConstraint('token_hash', name=op.f('uq_web_links_token_hash')),
    )
    op.create_index(op.f('ix_web_links_guardian_id'), 'web_links', ['guardian_id'])
    op.create_table(
        'sms_messages',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('out_id', sa.String(length=64), nullable=False),
        sa.Column('kind', sa.String(length=24), nullable=False),
        sa.Column('phone_hash', sa.String(length=64), nullable=False),
        sa.Column('guardian_id', sa.Integer(), nullable=True),
        sa.Column('cohort_id', sa.Integer(), nullable=True),
        sa.Column('delivery_id', sa.Integer(), nullable=True),
        sa.Column('template_code', sa.String(length=32), nullable=False),
        sa.Column('segments', sa.Integer(), nullable=False),
        sa.Column('state', sa.String(length=16), nullable=False),
        sa.Column('provider_id', sa.String(length=64), nullable=True),
        sa.Column('error', sa.String(length=120), nullable=True),
        sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column('sent_at', core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('receipt_at', core.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column('receipt_code', sa.String(length=40), nullable=True),
        sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'],
                                name=op.f('fk_sms_messages_guardian_id_guardians'), ondelete='SET NULL'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_sms_messages')),
        sa.UniqueConstraint('out_id', name=op.f('uq_sms_messages_out_id')),
    )
    op.create_index('ix_sms_messages_phone_at', 'sms_messages', ['phone_hash', 'created_at'])
    op.create_index('ix_sms_messages_cohort_at', 'sms_messages', ['cohort_id', 'created_at'])
    op.create_index(op.f('ix_sms_messages_delivery_id'), 'sms_messages', ['delivery_id'])
    op.create_index(op.f('ix_sms_messages_provider_id'), 'sms_messages', ['provider_id'])
    op.create_table(
        'channel_problems',
        sa.Column('channel', sa.String(length=16), nullable=False),
        sa.Column('code', sa.String(length=48), nullable=False),
        sa.Column('detail', sa.String(length=200), nullable=False),
        sa.Column('since', core.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('channel', name=op.f('pk_channel_problems')),
    )


def downgrade() -> None:
    op.drop_table('channel_problems')
    op.drop_index(op.f('ix_sms_messages_provider_id'), table_name='sms_messages')
    op.drop_index(op.f('ix_sms_messages_delivery_id'), table_name='sms_messages')
    op.drop_index('ix_sms_messages_cohort_at', table_name='sms_messages')
    op.drop_index('ix_sms_messages_phone_at', table_name='sms_messages')
    op.drop_table('sms_messages')
    op.drop_index(op.f('ix_web_links_guardian_id'), table_name='web_links')
    op.drop_table('web_links')
    op.drop_index(op.f('ix_web_sessions_guardian_id'), table_name='web_sessions')
    op.drop_table('web_sessions')
    op.drop_index('ix_web_sign_in_codes_ip_at', table_name='web_sign_in_codes')
    op.drop_index('ix_web_sign_in_codes_phone_at', table_name='web_sign_in_codes')
    op.drop_table('web_sign_in_codes')
