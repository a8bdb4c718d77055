from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class AuditLog(Base):
    """Who read or changed what personal data, and when."""

    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"), index=True)
    action: Mapped[str] = mapped_column(String(16))  # read | create | update | delete
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[int | None] = mapped_column(Integer)
    cohort_id: Mapped[int | None] = mapped_column(Integer)
    # Ids and field names only, never values of personal data.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class ProcessedUpdate(Base):
    """Inbound events already handled — (channel, the channel's event id), e.g. (channel,
    the provider's update id) — so a redelivered event does nothing twice."""

    __tablename__ = "processed_updates"

    channel: Mapped[str] = mapped_column(String(16), primary_key=True)
    event_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    processed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)


class Heartbeat(Base):
    """Last time a periodic job ran (the scheduler tick), for /healthz."""

    __tablename__ = "heartbeats"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)


class TextDocument(Base):
    """Versioned texts from content/ (consent, later safety messages): what a guardian agreed to
    is always the exact text of the version stored with their consent."""

    __tablename__ = "text_documents"

    kind: Mapped[str] = mapped_column(String(32), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    texts: Mapped[dict[str, Any]] = mapped_column(JSON)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)


class SendBudget(Base):
    """The send rate shared by every sender process: tokens refilled at the current rate, taken
    under a row lock, and a pause after the provider's 429 that holds for all of them. The rate
    adapts (AIMD): halved on a 429 (`decreased_at`: the last cut, `cut_from`: the rate it cut),
    growing back with every send that goes through, never above the configured rate.
    `grants`: the blocks granted lately ("microseconds since the epoch:count …"), so that the
    senders together never exceed the rate in any one-second window the provider counts."""

    __tablename__ = "send_budget"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    tokens: Mapped[float] = mapped_column(Float)
    refilled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    paused_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    rate: Mapped[float | None] = mapped_column(Float)  # msg/s now; None: the configured rate
    decreased_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cut_from: Mapped[float | None] = mapped_column(Float)  # the rate that last drew a 429
    grants: Mapped[str | None] = mapped_column(Text)
