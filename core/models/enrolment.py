from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Index, Integer, String
from sqlalchemy import orm
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class Invitation(Base):
    """A cohort invitation: the code behind a deep link and a poster QR code."""

    __tablename__ = "invitations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    label: Mapped[str] = mapped_column(String(200), default="")
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    max_uses: Mapped[int | None] = mapped_column(Integer)
    uses: Mapped[int] = mapped_column(Integer, default=0)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Household(Base):
    """The children and the guardians who care for them; belongs to exactly one cohort."""

    __tablename__ = "households"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="RESTRICT"), index=True)
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)

    guardians: Mapped[list[Guardian]] = orm.relationship(back_populates="household", lazy="raise")
    children: Mapped[list[Child]] = orm.relationship(
        back_populates="household", lazy="raise", order_by="Child.id"
    )


class Guardian(Base):
    """A grandparent, relative or parent who looks after the household's children."""

    __tablename__ = "guardians"
    __table_args__ = (
        # Who in a cohort became unreachable (delivery statistics), answered from the index alone.
        Index("ix_guardians_household_unreachable", "household_id", "unreachable_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    locale: Mapped[str] = mapped_column(String(16))
    relationship: Mapped[str] = mapped_column(String(32))
    lives_with_children: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[str] = mapped_column(String(16), default="active")
    consent_version: Mapped[int] = mapped_column(Integer)
    consented_at: Mapped[datetime] = mapped_column(UTCDateTime)
    stopped_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Delivery preferences: their own time zone (a parent working elsewhere), quiet hours.
    timezone: Mapped[str | None] = mapped_column(String(64))
    quiet_start: Mapped[str] = mapped_column(String(5), default="21:30", server_default="21:30")
    quiet_end: Mapped[str] = mapped_column(String(5), default="08:00", server_default="08:00")
    # Every endpoint refused them (blocked): nothing is planned for them until they write to us
    # again. Kept on the person (set and cleared only by core.endpoints) because every planner
    # filters on it in one set-based INSERT … SELECT; the endpoints hold which channel said what.
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Whom to call (DESIGN principle 4): what the family calls them (王奶奶), a phone number in
    # E.164 (+8613812345678; optional) and where the house is (三组 村口小卖部旁). Erased by /delete.
    call_name: Mapped[str | None] = mapped_column(String(40))
    phone: Mapped[str | None] = mapped_column(String(20))
    village: Mapped[str | None] = mapped_column(String(80))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    household: Mapped[Household] = orm.relationship(back_populates="guardians", lazy="raise")


class Child(Base):
    """A child in a household. Nickname and birth month only: no full name, no ID number."""

    __tablename__ = "children"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    nickname: Mapped[str] = mapped_column(String(32))
    birth_year: Mapped[int] = mapped_column(Integer)
    birth_month: Mapped[int] = mapped_column(Integer)
    sex: Mapped[str | None] = mapped_column(String(8))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)

    household: Mapped[Household] = orm.relationship(back_populates="children", lazy="raise")


class HouseholdInvite(Base):
    """A one-time link a guardian passes to another guardian of the same household."""

    __tablename__ = "household_invites"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    created_by_guardian_id: Mapped[int | None] = mapped_column(
        ForeignKey("guardians.id", ondelete="SET NULL")
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class ConsentDecline(Base):
    """Someone said no to the consent text. Anonymous by design: no chat, no name."""

    __tablename__ = "consent_declines"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="SET NULL"), index=True)
    consent_version: Mapped[int] = mapped_column(Integer)
    declined_on: Mapped[date] = mapped_column(Date)


class Draft(Base):
    """Conversation state of an unfinished flow (enrolment, adding a child…), kept in the
    database so it survives restarts and a second /start resumes it."""

    __tablename__ = "drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(128), unique=True)  # where the flow is under way
    flow: Mapped[str] = mapped_column(String(16))
    step: Mapped[str] = mapped_column(String(32))
    locale: Mapped[str | None] = mapped_column(String(16))
    invitation_id: Mapped[int | None] = mapped_column(ForeignKey("invitations.id", ondelete="CASCADE"))
    household_invite_id: Mapped[int | None] = mapped_column(
        ForeignKey("household_invites.id", ondelete="CASCADE")
    )
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CodeAttempt(Base):
    """A wrong code sent from an address, kept briefly to slow down guessing."""

    __tablename__ = "code_attempts"
    __table_args__ = (Index("ix_code_attempts_address_at", "address", "attempted_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(128))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime)
