"""Guardians on the mobile web and the SMS channel: sign-in codes, web sessions, staff-made
one-time links, every SMS handed to the provider (with its receipt), and a channel's standing
problem for /healthz. Only hashes of credentials and phone numbers are stored here."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class SignInCode(Base):
    """A 6-digit code sent by SMS to a phone number. The browser holds a random challenge token
    (its hash is `challenge_hash`); the code itself is stored keyed-hashed with the challenge."""

    __tablename__ = "web_sign_in_codes"
    __table_args__ = (Index("ix_web_sign_in_codes_phone_at", "phone_hash", "created_at"),
                      Index("ix_web_sign_in_codes_ip_at", "ip_hash", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    challenge_hash: Mapped[str] = mapped_column(String(64), unique=True)
    phone_hash: Mapped[str] = mapped_column(String(64))
    ip_hash: Mapped[str] = mapped_column(String(64))
    # None: the number is in no household (no SMS went out; the page never says so).
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"))
    code_hash: Mapped[str] = mapped_column(String(64))
    tries: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebSession(Base):
    """A guardian signed in on one phone's browser (a cookie holding the token)."""

    __tablename__ = "web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    via: Mapped[str] = mapped_column(String(8))  # code | link
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class WebLink(Base):
    """A one-time sign-in link (or its QR code) a staff member hands a guardian: random, stored
    hashed, expiring, single use. It carries nothing but the token."""

    __tablename__ = "web_links"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SmsMessage(Base):
    """One SMS handed to the provider: which notice, for whom, how many segments (billed), the
    provider's id (BizId) and, later, its delivery receipt. Never the text or the number."""

    __tablename__ = "sms_messages"
    __table_args__ = (Index("ix_sms_messages_phone_at", "phone_hash", "created_at"),
                      Index("ix_sms_messages_cohort_at", "cohort_id", "created_at"))

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    out_id: Mapped[str] = mapped_column(String(64), unique=True)  # ours, sent as OutId
    kind: Mapped[str] = mapped_column(String(24))  # sign_in_code | lesson | checkin | reminder | reply
    phone_hash: Mapped[str] = mapped_column(String(64))
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id", ondelete="SET NULL"))
    cohort_id: Mapped[int | None] = mapped_column(Integer)
    delivery_id: Mapped[int | None] = mapped_column(Integer, index=True)  # the outbox row, once wired
    template_code: Mapped[str] = mapped_column(String(32))
    segments: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(String(16))  # sending|sent|delivered|undelivered|blocked|rate_limited|failed
    provider_id: Mapped[str | None] = mapped_column(String(64), index=True)  # Aliyun BizId
    error: Mapped[str | None] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receipt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    receipt_code: Mapped[str | None] = mapped_column(String(40))


class ChannelProblem(Base):
    """A channel's standing problem an operator must fix (a refused template or signature, no
    balance, bad credentials), shown on /healthz until a send succeeds again."""

    __tablename__ = "channel_problems"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    code: Mapped[str] = mapped_column(String(48))
    detail: Mapped[str] = mapped_column(String(200))
    since: Mapped[datetime] = mapped_column(UTCDateTime)
