from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String
from sqlalchemy import false as sa_false
from sqlalchemy import exists
from sqlalchemy.orm import Mapped, column_property, mapped_column, relationship

from core.db import Base, UTCDateTime
from core.models.endpoint import Endpoint


class Staff(Base):
    """A programme worker: admin, supervisor (督导员) or director (儿童主任)."""

    __tablename__ = "staff"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    display_name: Mapped[str] = mapped_column(String(100))
    role: Mapped[str] = mapped_column(String(16))
    # API token: only its SHA-256 is kept; the token itself is shown once.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # One-time code to bind a chat (/start <code>) as their endpoint; hashed like the token.
    link_code_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    link_code_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    locale: Mapped[str] = mapped_column(String(16), default="zh-Hans")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_bootstrap: Mapped[bool] = mapped_column(Boolean, default=False)
    # A number families can call; shown to the families of their cohorts (safety message, replies)
    # only when the staff member opts in.
    phone: Mapped[str | None] = mapped_column(String(20))
    phone_visible: Mapped[bool] = mapped_column(Boolean, default=False, server_default=sa_false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Read from their endpoints (the API's StaffRead shows it): a Telegram chat is linked.
    telegram_linked: Mapped[bool] = column_property(
        exists().where(Endpoint.owner == "staff", Endpoint.staff_id == id, Endpoint.channel == "telegram")
        .correlate_except(Endpoint))  # its own FROM even when the query joins endpoints

    memberships: Mapped[list[StaffCohort]] = relationship(
        back_populates="staff", lazy="raise", cascade="all, delete-orphan"
    )


class StaffCohort(Base):
    """Which cohorts a staff member covers; a cohort's primary director is the name guardians see."""

    __tablename__ = "staff_cohorts"

    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), primary_key=True)
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False)

    staff: Mapped[Staff] = relationship(back_populates="memberships", lazy="raise")
