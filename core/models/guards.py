"""Rows that guard the programme from its own users: the safety floor admins set for every
cohort, and the idempotency keys that make a retried POST harmless."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class SafetyFloorRow(Base):
    """The one safety floor (id 1): the most lenient escalation times and the least frequent
    check-ins any cohort may have (core.cohorts.floor). No row means the default floor."""

    __tablename__ = "safety_floor"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    rules: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))


class IdempotencyKey(Base):
    """A client's Idempotency-Key on a POST that creates something: the same staff member
    sending the same key again gets the first result instead of a second row. Holds ids and a
    hash of the request only, never its text."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("staff_id", "key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(128))
    action: Mapped[str] = mapped_column(String(32))  # what the key was used for, e.g. case_note
    fingerprint: Mapped[str] = mapped_column(String(64))  # sha256 of the action, target and body
    entity_id: Mapped[int] = mapped_column(Integer)  # what the first request created
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class AuthFailure(Base):
    """A failed sign-in (an unknown API token) from one client address, so that every API process
    counts the same failures (core.throttle). Rows older than the window are pruned as new ones
    arrive; the address is the only thing kept, never the token."""

    __tablename__ = "auth_failures"
    __table_args__ = (Index("ix_auth_failures_address_at", "address", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
