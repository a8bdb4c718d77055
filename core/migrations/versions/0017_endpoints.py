"""endpoints: a person is reached at (channel, address) endpoints; every chat id becomes an address

Guardians' and staff members' Telegram chats become rows of `endpoints` (channel telegram,
address "telegram:<chat id>", blocked where Telegram had said 403). Deliveries, drafts, code
attempts, staff prompts and inbox messages keep the address string instead of a chat id;
provider message ids become strings; processed updates are keyed by (channel, event id).

Revision ID: 0017e
Revises: 0016s
Create Date: 2026-12-03 12:40:00
"""
from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import core.db


revision = '0017e'
down_revision = '0016s'
branch_labels = None
depends_on = None

# Telegram's ids as text, the same on both engines ('telegram:' || bigint is PostgreSQL-only).
_TG = "'telegram:' || CAST({col} AS VARCHAR(24))"
# "telegram:123" → 123, for the way down.
_CHAT = "CAST(SUBSTR({col}, 10) AS BIGINT)"

# 0015's trigger on deliveries (check_ins.sent_at): SQLite's batch mode rebuilds the table and
# loses triggers, so they are dropped before and created again after each rebuild. PostgreSQL
# alters in place and keeps its trigger.
_REACHED = "NEW.state = 'sent' AND NEW.kind = 'checkin' AND NEW.ref_kind = 'checkin' AND NEW.guardian_id IS NOT NULL"
_SET_SENT_AT = ("UPDATE check_ins SET sent_at = COALESCE(NEW.sent_at, NEW.finished_at, NEW.created_at) "
                "WHERE id = NEW.ref_id AND sent_at IS NULL")
_TRIGGERS_SQLITE = [
    f"CREATE TRIGGER trg_deliveries_checkin_sent_insert AFTER INSERT ON deliveries "
    f"WHEN {_REACHED} BEGIN {_SET_SENT_AT}; END",
    f"CREATE TRIGGER trg_deliveries_checkin_sent_update AFTER UPDATE OF state ON deliveries "
    f"WHEN {_REACHED} BEGIN {_SET_SENT_AT}; END",
]


def _sqlite() -> bool:
    return op.get_bind().dialect.name == 'sqlite'


def _drop_sqlite_triggers() -> None:
    if _sqlite():
        op.execute("DROP TRIGGER IF EXISTS trg_deliveries_checkin_sent_insert")
        op.execute("DROP TRIGGER IF EXISTS trg_deliveries_checkin_sent_update")


def _create_sqlite_triggers() -> None:
    if _sqlite():
        for statement in _TRIGGERS_SQLITE:
            op.execute(statement)


def upgrade() -> None:
    op.create_table('endpoints',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('owner', sa.String(length=8), nullable=False),
    sa.Column('guardian_id', sa.Integer(), nullable=True),
    sa.Column('staff_id', sa.Integer(), nullable=True),
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('address', sa.String(length=128), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('rank', sa.Integer(), nullable=False),
    sa.Column('state_changed_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_inbound_at', core.db.UTCDateTime(timezone=True), nullable=True),
    sa.CheckConstraint("(owner = 'guardian' AND guardian_id IS NOT NULL AND staff_id IS NULL) OR (owner = 'staff' AND staff_id IS NOT NULL AND guardian_id IS NULL)", name=op.f('ck_endpoints_one_owner')),
    sa.ForeignKeyConstraint(['guardian_id'], ['guardians.id'], name=op.f('fk_endpoints_guardian_id_guardians'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['staff_id'], ['staff.id'], name=op.f('fk_endpoints_staff_id_staff'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_endpoints')),
    sa.UniqueConstraint('owner', 'address', name='uq_endpoints_owner_address')
    )
    with op.batch_alter_table('endpoints', schema=None) as batch_op:
        batch_op.create_index('ix_endpoints_guardian_rank', ['guardian_id', 'rank'], unique=False)
        batch_op.create_index('ix_endpoints_staff_rank', ['staff_id', 'rank'], unique=False)

    op.execute(
        "INSERT INTO endpoints (owner, guardian_id, staff_id, channel, address, state, rank, state_changed_at,"
        " created_at) SELECT 'guardian', id, NULL, 'telegram', " + _TG.format(col='chat_id') + ","
        " CASE WHEN unreachable_at IS NULL THEN 'active' ELSE 'blocked' END, 0,"
        " COALESCE(unreachable_at, created_at), created_at FROM guardians")
    op.execute(
        "INSERT INTO endpoints (owner, guardian_id, staff_id, channel, address, state, rank, state_changed_at,"
        " created_at) SELECT 'staff', NULL, id, 'telegram', " + _TG.format(col='telegram_chat_id') + ","
        " CASE WHEN telegram_blocked_at IS NULL THEN 'active' ELSE 'blocked' END, 0,"
        " COALESCE(telegram_blocked_at, created_at), created_at FROM staff WHERE telegram_chat_id IS NOT NULL")
    with op.batch_alter_table('guardians', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_guardians_chat_id'), type_='unique')
        batch_op.drop_column('chat_id')
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_staff_telegram_chat_id'), type_='unique')
        batch_op.drop_column('telegram_blocked_at')
        batch_op.drop_column('telegram_chat_id')

    # Drafts, staff prompts (one per address) and code attempts.
    for table in ('drafts', 'staff_prompts', 'code_attempts'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('address', sa.String(length=128), nullable=True))
        op.execute(f"UPDATE {table} SET address = " + _TG.format(col='chat_id'))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('address', existing_type=sa.String(length=128), nullable=False)
            if table == 'code_attempts':
                batch_op.drop_index('ix_code_attempts_chat_at')
                batch_op.create_index('ix_code_attempts_address_at', ['address', 'attempted_at'], unique=False)
            else:
                batch_op.drop_constraint(batch_op.f(f'uq_{table}_chat_id'), type_='unique')
                batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_address'), ['address'])
            batch_op.drop_column('chat_id')

    # The outbox: keyed by address; the provider's message id as text.
    _drop_sqlite_triggers()
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('provider_message_id', sa.String(length=64), nullable=True))
    op.execute("UPDATE deliveries SET address = " + _TG.format(col='chat_id') + ","
               " provider_message_id = CAST(telegram_message_id AS VARCHAR(64))")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.alter_column('address', existing_type=sa.String(length=128), nullable=False)
        batch_op.drop_constraint('uq_deliveries_key', type_='unique')
        batch_op.create_unique_constraint('uq_deliveries_key', ['address', 'kind', 'ref', 'cycle'])
        batch_op.drop_column('telegram_message_id')
        batch_op.drop_column('chat_id')
    _create_sqlite_triggers()

    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('address', sa.String(length=128), nullable=True))
        batch_op.add_column(sa.Column('provider_message_id', sa.String(length=64), nullable=True))
    op.execute("UPDATE inbox_messages SET address = " + _TG.format(col='chat_id') + ","
               " provider_message_id = CAST(telegram_message_id AS VARCHAR(64))")
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.drop_column('telegram_message_id')
        batch_op.drop_column('chat_id')

    # Processed inbound events: (channel, event id) instead of Telegram's update id.
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_processed_updates_processed_at')
    if not _sqlite():  # PostgreSQL names the key's index: free the name for the new table
        op.execute("ALTER TABLE processed_updates RENAME CONSTRAINT pk_processed_updates TO pk_processed_updates_0016")
    op.rename_table('processed_updates', 'processed_updates_0016')
    op.create_table('processed_updates',
    sa.Column('channel', sa.String(length=16), nullable=False),
    sa.Column('event_id', sa.String(length=64), nullable=False),
    sa.Column('processed_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('channel', 'event_id', name=op.f('pk_processed_updates'))
    )
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.create_index('ix_processed_updates_processed_at', ['processed_at'], unique=False)
    op.execute("INSERT INTO processed_updates (channel, event_id, processed_at)"
               " SELECT 'telegram', CAST(update_id AS VARCHAR(64)), processed_at FROM processed_updates_0016")
    op.drop_table('processed_updates_0016')


def downgrade() -> None:
    """Back to chat ids. Only Telegram endpoints have a chat id: a guardian reachable only on
    another channel cannot be stored by 0016 and is refused (the way down would lose them)."""
    bind = op.get_bind()
    others = bind.execute(sa.text(
        "SELECT count(*) FROM guardians g WHERE NOT EXISTS (SELECT 1 FROM endpoints e"
        " WHERE e.guardian_id = g.id AND e.channel = 'telegram')")).scalar()
    if others:
        raise RuntimeError(f"{others} guardian(s) have no Telegram endpoint: 0016 cannot store them")

    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.drop_index('ix_processed_updates_processed_at')
    if not _sqlite():
        op.execute("ALTER TABLE processed_updates RENAME CONSTRAINT pk_processed_updates TO pk_processed_updates_0017")
    op.rename_table('processed_updates', 'processed_updates_0017')
    op.create_table('processed_updates',
    sa.Column('update_id', sa.BigInteger(), autoincrement=False, nullable=False),
    sa.Column('processed_at', core.db.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('update_id', name=op.f('pk_processed_updates'))
    )
    with op.batch_alter_table('processed_updates', schema=None) as batch_op:
        batch_op.create_index('ix_processed_updates_processed_at', ['processed_at'], unique=False)
    op.execute("INSERT INTO processed_updates (update_id, processed_at) SELECT CAST(event_id AS BIGINT),"
               " processed_at FROM processed_updates_0017 WHERE channel = 'telegram'")
    op.drop_table('processed_updates_0017')

    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('telegram_message_id', sa.BigInteger(), nullable=True))
    op.execute("UPDATE inbox_messages SET chat_id = " + _CHAT.format(col='address') + ","
               " telegram_message_id = CAST(provider_message_id AS BIGINT) WHERE address LIKE 'telegram:%'")
    with op.batch_alter_table('inbox_messages', schema=None) as batch_op:
        batch_op.drop_column('provider_message_id')
        batch_op.drop_column('address')

    _drop_sqlite_triggers()
    op.execute("DELETE FROM deliveries WHERE address NOT LIKE 'telegram:%'")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('telegram_message_id', sa.BigInteger(), nullable=True))
    op.execute("UPDATE deliveries SET chat_id = " + _CHAT.format(col='address') + ","
               " telegram_message_id = CAST(provider_message_id AS BIGINT)")
    with op.batch_alter_table('deliveries', schema=None) as batch_op:
        batch_op.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=False)
        batch_op.drop_constraint('uq_deliveries_key', type_='unique')
        batch_op.create_unique_constraint('uq_deliveries_key', ['chat_id', 'kind', 'ref', 'cycle'])
        batch_op.drop_column('provider_message_id')
        batch_op.drop_column('address')
    _create_sqlite_triggers()

    for table in ('drafts', 'staff_prompts', 'code_attempts'):
        op.execute(f"DELETE FROM {table} WHERE address NOT LIKE 'telegram:%'")
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('chat_id', sa.BigInteger(), nullable=True))
        op.execute(f"UPDATE {table} SET chat_id = " + _CHAT.format(col='address'))
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=False)
            if table == 'code_attempts':
                batch_op.drop_index('ix_code_attempts_address_at')
                batch_op.create_index('ix_code_attempts_chat_at', ['chat_id', 'attempted_at'], unique=False)
            else:
                batch_op.drop_constraint(batch_op.f(f'uq_{table}_address'), type_='unique')
                batch_op.create_unique_constraint(batch_op.f(f'uq_{table}_chat_id'), ['chat_id'])
            batch_op.drop_column('address')

    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.add_column(sa.Column('telegram_chat_id', sa.BigInteger(), nullable=True))
        batch_op.add_column(sa.Column('telegram_blocked_at', core.db.UTCDateTime(timezone=True), nullable=True))
    # A person's first Telegram endpoint by rank is the chat 0016 knew.
    first = ("(SELECT {what} FROM endpoints e WHERE e.{owner}_id = {table}.id AND e.channel = 'telegram'"
             " ORDER BY e.rank, e.id LIMIT 1)")
    chat = _CHAT.format(col='e.address')
    op.execute("UPDATE staff SET telegram_chat_id = " + first.format(what=chat, owner='staff', table='staff')
               + ", telegram_blocked_at = " + first.format(
                   what="CASE WHEN e.state = 'blocked' THEN e.state_changed_at END", owner='staff', table='staff'))
    with op.batch_alter_table('staff', schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f('uq_staff_telegram_chat_id'), ['telegram_chat_id'])
    with op.batch_alter_table('guardians', schema=None) as batch_op:
        batch_op.add_column(sa.Column('chat_id', sa.BigInteger(), nullable=True))
    op.execute("UPDATE guardians SET chat_id = " + first.format(what=chat, owner='guardian', table='guardians'))
    with op.batch_alter_table('guardians', schema=None) as batch_op:
        batch_op.alter_column('chat_id', existing_type=sa.BigInteger(), nullable=False)
        batch_op.create_unique_constraint(batch_op.f('uq_guardians_chat_id'), ['chat_id'])

    with op.batch_alter_table('endpoints', schema=None) as batch_op:
        batch_op.drop_index('ix_endpoints_staff_rank')
        batch_op.drop_index('ix_endpoints_guardian_rank')
    op.drop_table('endpoints')
