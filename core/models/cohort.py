from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class Cohort(Base):
    """A village or school group: its director(s), schedule, language and time zone."""

    __tablename__ = "cohorts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    region: Mapped[str] = mapped_column(String(200), default="")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    default_locale: Mapped[str] = mapped_column(String(16), default="zh-Hans")
    # Filled in by the lessons and check-ins issues; kept as validated JSON until then.
    lesson_schedule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    checkin_schedule: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # The programmes this cohort follows (ids); empty means the whole standard library. Each
    # guardian gets the one for their audience and each child's age band.
    programmes: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    # Local help lines added to the national ones in the safety message a guardian gets after a
    # red answer: [{"number": "0939-8212345", "labels": {"zh-Hans": "县医院心理科", "en": "…"}}].
    safety_lines: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list, server_default="[]")
    # How alerts are handled: minutes to acknowledge per severity, follow-up and visit intervals
    # (core.alerts.policy.AlertPolicy; {} means the defaults).
    alert_policy: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, server_default="{}")
    # When the day's digest of unread inbox items goes to the directors ("HH:MM", local time).
    inbox_digest: Mapped[str] = mapped_column(String(5), default="18:00", server_default="18:00")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
