from __future__ import annotations

import re

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, and_, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, validates

from core.db import Base, UTCDateTime

_REF = re.compile(r"([a-z_]{1,24}):([0-9]{1,9})(?::|$)")

# A delivery's states (core.delivery.outbox moves rows between them; core.endpoints reads them).
PENDING, SENDING, SENT, FAILED, BLOCKED, CANCELLED, SKIPPED = (
    "pending", "sending", "sent", "failed", "blocked", "cancelled", "skipped",
)
STATES = (PENDING, SENDING, SENT, FAILED, BLOCKED, CANCELLED, SKIPPED)


def ref_columns(ref: str) -> dict[str, Any]:
    """The typed columns of a delivery reference: "checkin:12" → {"ref_kind": "checkin",
    "ref_id": 12}; "alert:5:901" → alert 5; "schedule" or "request" → both None. Every insert
    into deliveries passes these with the ref (migration 0015 backfilled older rows by the
    same rule)."""
    match = _REF.match(ref)
    if match is None:
        return {"ref_kind": None, "ref_id": None}
    return {"ref_kind": match.group(1), "ref_id": int(match.group(2))}


class Delivery(Base):
    """One outgoing message in the outbox.

    The unique key (address, kind, ref, cycle) makes double ticks, restarts and concurrent planners
    harmless. Senders claim rows with a lease committed before the HTTP call, so a crash between
    claim and send means the row is sent again after the lease (at most one duplicate per crash).
    """

    __tablename__ = "deliveries"
    __table_args__ = (
        UniqueConstraint("address", "kind", "ref", "cycle", name="uq_deliveries_key"),
        Index("ix_deliveries_due", "state", "lane", "due_at"),
        Index("ix_deliveries_guardian_kind", "guardian_id", "kind"),
        # Per-cohort statistics, counted from the index alone (covering).
        Index("ix_deliveries_cohort_created", "cohort_id", "created_at", "kind", "state", "lesson_id"),
        # What a delivery is about, as typed columns an index can serve ("checkin:12" → checkin,
        # 12): the funnel report joins check-ins to their deliveries, alert cards are found by
        # their alert, a campaign's rows by their campaign — never by building a string.
        Index("ix_deliveries_ref", "ref_kind", "ref_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # The endpoint it goes to (core.models.endpoint: "sms:+8613800000000"). The sender moves a row
    # to the person's next endpoint when a channel refuses it (blocked, window closed, quota).
    address: Mapped[str] = mapped_column(String(128))
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"))  # alerts to staff
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(24))  # lesson | lesson_followup | campaign | …
    ref: Mapped[str] = mapped_column(String(100))  # what it is about: "schedule", "campaign:5", …
    # The same reference typed, for "<kind>:<id>[:…]" refs (core.delivery.outbox.ref_columns):
    # "campaign:5" → ("campaign", 5), "checkin:7:q3" → ("checkin", 7); None for "schedule".
    ref_kind: Mapped[str | None] = mapped_column(String(24))
    ref_id: Mapped[int | None] = mapped_column(Integer)
    cycle: Mapped[str] = mapped_column(String(40))  # which occurrence: "2026-11-23T20:00", …
    lane: Mapped[int] = mapped_column(Integer)  # 0 safety/alerts, 1 check-ins, 2 lessons/campaigns
    state: Mapped[str] = mapped_column(String(12), default=PENDING)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    # What was (or will be) sent: e.g. {"lesson_id": …, "version": …}; resolved at send time for
    # scheduled lessons, so the guardian gets the next lesson of their programme when it goes out.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    lesson_id: Mapped[str | None] = mapped_column(String(64))
    lesson_version: Mapped[int | None] = mapped_column(Integer)
    # The channel's id of what was sent (to edit it later where the channel can): a string, as
    # providers' ids are (integer ids are kept as their decimal text).
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    @classmethod
    def about(cls, ref_kind: str, ref_id: int) -> Any:
        """Rows whose ref is exactly "<ref_kind>:<ref_id>", found through ix_deliveries_ref."""
        return and_(cls.ref_kind == ref_kind, cls.ref_id == ref_id, cls.ref == f"{ref_kind}:{ref_id}")

    @validates("ref")
    def _type_ref(self, _key: str, ref: str) -> str:
        # Rows built through the ORM get their typed reference with the ref itself.
        for column, value in ref_columns(ref).items():
            setattr(self, column, value)
        return ref


class DeliveryDayCount(Base):
    """How many of a cohort's deliveries, created on one UTC day, are of a kind, in a state and
    about a lesson ("" for none): the per-day pre-aggregate that delivery statistics read
    instead of counting the outbox (issue #16). ON SQLITE ONLY.

    On SQLite it is kept exactly right by database triggers on deliveries (migration 0022d):
    every insert adds one, every delete (cascades from an erased guardian or cohort included)
    takes one away, and every update that changes the cohort, creation time, kind, state or
    lesson moves one from the old key to the new one, in the same transaction as the change
    itself, whatever code (or bulk statement) made it. No foreign key: a cohort's rows fall to
    zero with its deliveries. A migration that rebuilds the deliveries table (SQLite batch mode)
    drops the triggers and must create them again
    (core.migrations.versions.0022_delivery_day_counts.create_triggers).

    On PostgreSQL the table exists but stays empty and nothing reads it: concurrent senders
    would serialise, and could deadlock, on its shared counter rows (core.delivery.stats counts
    the outbox there)."""

    __tablename__ = "delivery_day_counts"

    cohort_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[date] = mapped_column(Date, primary_key=True)  # of created_at, in UTC
    kind: Mapped[str] = mapped_column(String(24), primary_key=True)
    state: Mapped[str] = mapped_column(String(12), primary_key=True)
    lesson_id: Mapped[str] = mapped_column(String(64), primary_key=True)  # "" when none
    n: Mapped[int] = mapped_column(Integer)


class LessonFeedback(Base):
    """A guardian's one-tap answer under a lesson (helpful / not for me) or to the later
    'did you try it?' follow-up. One row per delivery and question; a new tap updates it."""

    __tablename__ = "lesson_feedback"
    __table_args__ = (UniqueConstraint("delivery_id", "question", name="uq_lesson_feedback_question"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    delivery_id: Mapped[int] = mapped_column(ForeignKey("deliveries.id", ondelete="CASCADE"))
    guardian_id: Mapped[int] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(Integer, index=True)
    lesson_id: Mapped[str] = mapped_column(String(64))
    lesson_version: Mapped[int] = mapped_column(Integer)
    question: Mapped[str] = mapped_column(String(16))  # helpful | tried
    answer: Mapped[str] = mapped_column(String(16))  # yes | no | not_yet
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
