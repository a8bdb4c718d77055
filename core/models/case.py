"""Cases (一人一案): the child director's follow-up of one child — or of one guardian (WHO-5), or a
household when no child is named — over time. A case gathers the alerts about its subject, the
contacts and visits, referrals, notes, escalations and the follow-up check-in.

It is the director's child-protection record: when the family erases its data the case stays,
pseudonymised (every link to a person is SET NULL), for the configured retention period."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        # One open case per child (or guardian, or household): new alerts join it.
        Index("uq_cases_open_subject", "subject_key", unique=True,
              sqlite_where=text("status = 'open'"), postgresql_where=text("status = 'open'")),
        Index("ix_cases_cohort_status", "cohort_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="SET NULL"))
    subject_key: Mapped[str] = mapped_column(String(32))
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id", ondelete="SET NULL"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id", ondelete="SET NULL"), index=True)
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(8), default="open")  # open | closed
    # The person responsible (the plan's owner): who first acted on it, else the primary director.
    responsible_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(24))
    followup_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CaseEvent(Base):
    """One thing that happened: an alert joined, acknowledged, a call or home visit, a referral,
    a note, an escalation, resolved, closed, reopened, a follow-up. A visit to a household with
    no case (the monthly visit, 月巡访) is an event with no case."""

    __tablename__ = "case_events"
    __table_args__ = (Index("ix_case_events_household_kind_at", "household_id", "kind", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="SET NULL"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id", ondelete="SET NULL"))
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(20))
    # method (call | visit), referral `to`, outcome, escalation level, check-in id: no names.
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    note: Mapped[str | None] = mapped_column(Text)  # what the staff member wrote


class StaffPrompt(Base):
    """A staff member was asked to type something (a contact's note, a referral's note…): their
    next words at this address answer it. In the database, so a restart loses nothing."""

    __tablename__ = "staff_prompts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    address: Mapped[str] = mapped_column(String(128), unique=True)  # the chat the answer will come from
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))  # contact | referral | resolve | note
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)


class CaseMeasure(Base):
    """One line of a case's plan (一人一案): what will be done, by whom (a name: often a teacher
    or a village doctor, not a staff member), by when. Goes with its case."""

    __tablename__ = "case_measures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    text: Mapped[str] = mapped_column(String(500))
    responsible: Mapped[str] = mapped_column(String(100))
    due_on: Mapped[date | None] = mapped_column(Date)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
