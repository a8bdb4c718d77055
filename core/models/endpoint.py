"""Where a person is reached: one row per (person, channel address), in preference order.

The address is one canonical string everywhere — in endpoints, deliveries, drafts, prompts and
inbox messages: "<channel>:<id on that channel>" (telegram:123456789, sms:+8613800000000,
web:<opaque id>, wechat:<openid>). One string, not a (channel, id) pair, because the outbox's
unique key, a draft's owner and a prompt's chat are all "this address" and a string compares
and indexes the same on every engine; `channel` is kept beside it so reports and the sender can
filter by channel without parsing."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class Endpoint(Base):
    __tablename__ = "endpoints"
    __table_args__ = (
        # One Telegram account may be a staff member and a guardian (two rows, same address), but
        # never two guardians, nor two staff members: the owner kind is part of the key.
        UniqueConstraint("owner", "address", name="uq_endpoints_owner_address"),
        CheckConstraint(
            "(owner = 'guardian' AND guardian_id IS NOT NULL AND staff_id IS NULL)"
            " OR (owner = 'staff' AND staff_id IS NOT NULL AND guardian_id IS NULL)",
            name="one_owner",
        ),
        Index("ix_endpoints_guardian_rank", "guardian_id", "rank"),
        Index("ix_endpoints_staff_rank", "staff_id", "rank"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    owner: Mapped[str] = mapped_column(String(8))  # guardian | staff
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(16))  # telegram | sms | web | wechat …
    address: Mapped[str] = mapped_column(String(128))  # "telegram:123456789"
    # active | blocked (the person refused us there: only their next inbound reopens it) |
    # window_closed (the channel's reply window ran out: reopened by their next inbound) |
    # quota_exhausted (the provider's quota for today: retried after a day)
    state: Mapped[str] = mapped_column(String(16), default="active")
    rank: Mapped[int] = mapped_column(Integer, default=0)  # preference: lowest first
    state_changed_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_inbound_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # for reply windows
