"""Check-ins: questionnaire versions, one sending of a questionnaire about one child (or about
the guardian themself) per cycle, its answers and scores, and the alerts they raise.

Deletion (DESIGN "Deletion vs the child's record"): check-ins, answers and scores are the
household's personal data and go with it (ON DELETE CASCADE from the child / the guardian they
are about); who answered or claimed is set to NULL when that guardian erases their data. Alerts
are the director's child-protection record: every link to a person is ON DELETE SET NULL, and
their evidence holds item ids, values and scores only — never a name or free text.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class Questionnaire(Base):
    """One version of a questionnaire file, validated. Versions are immutable: a check-in points
    at the version it was sent with."""

    __tablename__ = "questionnaires"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    subject: Mapped[str] = mapped_column(String(8))  # child | self
    doc: Mapped[dict[str, Any]] = mapped_column(JSON)  # the validated file (QuestionnaireFile)
    sha256: Mapped[str] = mapped_column(String(64))
    loaded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CheckIn(Base):
    """One sending of a questionnaire about one child (or a guardian themself) in one cycle."""

    __tablename__ = "check_ins"
    __table_args__ = (
        ForeignKeyConstraint(
            ["questionnaire_id", "questionnaire_version"], ["questionnaires.id", "questionnaires.version"],
            name="fk_check_ins_questionnaire",
        ),
        # subject_key is "child:<id>" or "guardian:<id>": one check-in per subject and cycle.
        UniqueConstraint("questionnaire_id", "subject_key", "cycle", name="uq_check_ins_subject_cycle"),
        Index("ix_check_ins_state_expires", "state", "expires_at"),
        Index("ix_check_ins_subject_created", "subject_key", "questionnaire_id", "created_at"),
        # The funnel counts a cohort's check-ins of a period from this index alone (covering).
        Index("ix_check_ins_cohort_created", "cohort_id", "created_at", "state", "sent_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    questionnaire_id: Mapped[str] = mapped_column(String(64))
    questionnaire_version: Mapped[int] = mapped_column(Integer)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"), index=True)
    subject_guardian_id: Mapped[int | None] = mapped_column(
        ForeignKey("guardians.id", ondelete="CASCADE"), index=True
    )
    subject_key: Mapped[str] = mapped_column(String(32))
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    cycle: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(12), default="open")  # open|in_progress|completed|expired
    claimed_by_guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id", ondelete="SET NULL"))
    cursor: Mapped[int] = mapped_column(Integer, default=0)  # index of the next item to ask
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    reminded_count: Mapped[int] = mapped_column(Integer, default=0)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its first message ("checkin" delivery) first reached a guardian; None while none has.
    # Kept by the database itself: a trigger on deliveries (migration 0015) sets it when such a
    # delivery becomes (or is written) sent, whichever code path does it. The funnel report
    # counts check-ins "sent" by it instead of probing deliveries for each one.
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The optional closing note for the child director: asked → given | skipped.
    note_state: Mapped[str | None] = mapped_column(String(8))
    # A follow-up check-in (随访) scheduled when this case was resolved.
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"))


class CheckInRound(Base):
    """One questionnaire sent to one cohort for one cycle: planned once (a second tick or a
    second worker finds the row and does nothing), and counted for reports."""

    __tablename__ = "check_in_rounds"
    __table_args__ = (UniqueConstraint("cohort_id", "questionnaire_id", "cycle", name="uq_check_in_rounds_cycle"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    questionnaire_id: Mapped[str] = mapped_column(String(64))
    questionnaire_version: Mapped[int] = mapped_column(Integer)
    cycle: Mapped[str] = mapped_column(String(40))
    slot_at: Mapped[datetime] = mapped_column(UTCDateTime)
    planned_at: Mapped[datetime] = mapped_column(UTCDateTime)
    checkins: Mapped[int] = mapped_column(Integer, default=0)
    deliveries: Mapped[int] = mapped_column(Integer, default=0)
    # A round staff sent now (cycle "adhoc:<local date>:<household|child|cohort>:<id>"): who and why.
    requested_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    reason: Mapped[str | None] = mapped_column(String(500))


class FreeText(Base):
    """Words a guardian typed that the programme keeps: a closing note for the child director,
    or a message the risk lexicon flagged. Other messages are answered and not stored (least
    data). Personal data: it goes with the guardian and the household (ON DELETE CASCADE); an
    alert it raised keeps only the lexicon terms and categories.

    Words flagged while someone is still enrolling (kind "enrolment") have no household or
    guardian yet: they belong to the pending alert, and are given to the new household and
    guardian when enrolment completes."""

    __tablename__ = "free_texts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id", ondelete="CASCADE"), index=True)
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id", ondelete="CASCADE"), index=True)
    cohort_id: Mapped[int] = mapped_column(ForeignKey("cohorts.id", ondelete="CASCADE"))
    check_in_id: Mapped[int | None] = mapped_column(ForeignKey("check_ins.id", ondelete="CASCADE"), index=True)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(12))  # note | message | enrolment
    text: Mapped[str] = mapped_column(Text)
    hit: Mapped[bool] = mapped_column(Boolean, default=False)
    severity: Mapped[str | None] = mapped_column(String(8))
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    terms: Mapped[list[str]] = mapped_column(JSON, default=list)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime)


class Answer(Base):
    """One item's answer. A changed answer updates the row: answered_at stays the first time,
    changed_at and previous_value say what was changed."""

    __tablename__ = "answers"
    __table_args__ = (UniqueConstraint("check_in_id", "item_id", name="uq_answers_item"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_in_id: Mapped[int] = mapped_column(ForeignKey("check_ins.id", ondelete="CASCADE"))
    item_id: Mapped[str] = mapped_column(String(40))
    value: Mapped[int] = mapped_column(Integer)
    previous_value: Mapped[int | None] = mapped_column(Integer)
    answered_by_guardian_id: Mapped[int | None] = mapped_column(
        ForeignKey("guardians.id", ondelete="SET NULL"), index=True
    )
    answered_at: Mapped[datetime] = mapped_column(UTCDateTime)
    changed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class CheckInScore(Base):
    """A completed check-in's score on one scale."""

    __tablename__ = "check_in_scores"
    __table_args__ = (UniqueConstraint("check_in_id", "scale_id", name="uq_check_in_scores_scale"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    check_in_id: Mapped[int] = mapped_column(ForeignKey("check_ins.id", ondelete="CASCADE"))
    scale_id: Mapped[str] = mapped_column(String(40))
    raw: Mapped[int | None] = mapped_column(Integer)
    scaled: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(12))  # complete | incomplete | invalid
    cutoffs: Mapped[list[str]] = mapped_column(JSON, default=list)
    reason: Mapped[str | None] = mapped_column(Text)


class Alert(Base):
    """A rule that fired, for the child director. Kept, pseudonymised, when the family erases
    its data: every link to a person is SET NULL and the evidence holds no names."""

    __tablename__ = "alerts"
    __table_args__ = (
        # At most one unresolved alert per subject, questionnaire and rule; a repeat is added to it.
        Index(
            "uq_alerts_open_subject_rule", "subject_key", "questionnaire_id", "rule_id", unique=True,
            sqlite_where=text("status <> 'resolved'"), postgresql_where=text("status <> 'resolved'"),
        ),
        Index("ix_alerts_cohort_status", "cohort_id", "status", "created_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    # "child:<id>", "guardian:<id>" or "household:<id>": ids only, meaningless once erased.
    # Indexed (also resolved alerts): a child's check-in history lists every alert about them.
    subject_key: Mapped[str] = mapped_column(String(32), index=True)
    child_id: Mapped[int | None] = mapped_column(ForeignKey("children.id", ondelete="SET NULL"), index=True)
    household_id: Mapped[int | None] = mapped_column(ForeignKey("households.id", ondelete="SET NULL"), index=True)
    guardian_id: Mapped[int | None] = mapped_column(ForeignKey("guardians.id", ondelete="SET NULL"), index=True)
    cohort_id: Mapped[int | None] = mapped_column(ForeignKey("cohorts.id", ondelete="SET NULL"))
    severity: Mapped[str] = mapped_column(String(8))  # red | orange | yellow
    audience: Mapped[str] = mapped_column(String(8))  # child | guardian
    rule_id: Mapped[str] = mapped_column(String(60))
    # The content that fired it: a questionnaire id, or "lexicon" for a risk word in free text.
    questionnaire_id: Mapped[str | None] = mapped_column(String(64))
    questionnaire_version: Mapped[int | None] = mapped_column(Integer)
    check_in_id: Mapped[int | None] = mapped_column(ForeignKey("check_ins.id", ondelete="SET NULL"), index=True)
    evidence: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text)  # the rule's reason in the cohort's language
    status: Mapped[str] = mapped_column(String(14), default="open")  # open | acknowledged | resolved
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    occurrences: Mapped[int] = mapped_column(Integer, default=1)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    case_id: Mapped[int | None] = mapped_column(ForeignKey("cases.id", ondelete="SET NULL"), index=True)
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    acknowledged_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolved_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    outcome: Mapped[str | None] = mapped_column(String(24))
    # The escalation ladder: 0 the directors, 1 the supervisors, 2 the admins. `escalate_at` is
    # the next step's deadline while nobody has acknowledged; `remind_at` the directors' nudge.
    escalation_level: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    escalate_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
