"""The directors' inbox: whatever a guardian sends that no flow or question took — words, a voice
note, a photo, a video, a document — kept as an item for the cohort's directors, with the
conversation that follows (the directors' replies and the guardian's answers).

Personal data: an item and its messages go with the household (ON DELETE CASCADE); a message
goes with the guardian who wrote it. Media are never downloaded: a message keeps the address it
came from and the channel's message id (to copy it to a director) and the file's unique id."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class InboxItem(Base):
    __tablename__ = "inbox_items"
    __table_args__ = (
        Index("ix_inbox_items_cohort_state_created", "cohort_id", "state", "created_at"),
        Index("ix_inbox_items_guardian_state", "guardian_id", "state"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id", ondelete="SET NULL"))
    # Who it is about: a child where known (the case is the child's), else the family.
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id", ondelete="SET NULL"))
    # asking (the guardian is asked which child it is about) | open | done
    state: Mapped[str] = mapped_column(String(8), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_message_at: Mapped[datetime] = mapped_column(UTCDateTime)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # a director first opened or acted on it
    read_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    call_noted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    call_noted_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    done_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    # The red or orange alert its words raised (urgency), and the yellow one raised when nobody
    # marked it done in time (escalation).
    alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    escalation_alert_id: Mapped[int | None] = mapped_column(ForeignKey("alerts.id", ondelete="SET NULL"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))
    digested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # listed in a daily digest


class InboxMessage(Base):
    """One message of an item's conversation: in (the guardian's) or out (a director's reply)."""

    __tablename__ = "inbox_messages"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    item_id: Mapped[int] = mapped_column(ForeignKey("inbox_items.id", ondelete="CASCADE"), index=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"))
    staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(12))  # text | voice | photo | video | video_note | audio | document
    text: Mapped[str | None] = mapped_column(Text)  # typed words, or a caption
    # Where the message is on its channel (to copy it, never to download it).
    address: Mapped[str | None] = mapped_column(String(128))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    file_unique_id: Mapped[str | None] = mapped_column(String(64))
    media_type: Mapped[str | None] = mapped_column(String(32))  # e.g. audio/ogg, image/jpeg
    # in: received | shown | not_shown (the channel refused to copy it); out: queued | delivered | undelivered
    status: Mapped[str] = mapped_column(String(12))
    severity: Mapped[str | None] = mapped_column(String(8))  # what the risk scan said of the words
    at: Mapped[datetime] = mapped_column(UTCDateTime)
