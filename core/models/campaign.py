from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class Campaign(Base):
    """A one-off lesson or message to one or more cohorts at a set time (5·25, 10·10, term
    start, before the swimming season). Planned into the outbox by the tick when due."""

    __tablename__ = "campaigns"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    title: Mapped[str] = mapped_column(String(200))  # for staff; guardians see the lesson or texts
    cohort_ids: Mapped[list[int]] = mapped_column(JSON)
    send_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    lesson_id: Mapped[str | None] = mapped_column(String(64))
    lesson_version: Mapped[int | None] = mapped_column(Integer)
    texts: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    state: Mapped[str] = mapped_column(String(12), default="scheduled")  # scheduled | planned | cancelled
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
