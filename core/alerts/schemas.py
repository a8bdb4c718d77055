"""Read and request shapes of alerts and cases for staff, and the screening funnel report.

Request bodies are strict (extra="forbid", closed Literal choices), so a bad method, referral
target or outcome is a 422 naming the field before any service runs; the choices equal the
services' own constants (asserted below), so the two can never drift apart."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from core.alerts.cases import CONTACT_METHODS, NOTE_MAX, OUTCOMES, REFERRAL_TARGETS
from core.models import CaseEvent

Method = Literal["call", "visit"]
ReferralTarget = Literal["hospital_cmh", "school_counsellor", "police", "civil_affairs", "other"]
Outcome = Literal["safe_now", "family_supported", "referred", "family_left", "false_alarm", "other"]
assert Method.__args__ == CONTACT_METHODS  # type: ignore[attr-defined]
assert ReferralTarget.__args__ == REFERRAL_TARGETS  # type: ignore[attr-defined]
assert Outcome.__args__ == OUTCOMES  # type: ignore[attr-defined]

Note = str | None


class AlertRead(BaseModel):
    id: int
    cohort_id: int | None
    # "child:<id>", "guardian:<id>" or "household:<id>"; the ids below are None once the family
    # erased its data, the key stays (pseudonymised de-duplication).
    subject_key: str
    child_id: int | None
    household_id: int | None
    guardian_id: int | None
    severity: str  # red | orange | yellow
    audience: str  # child | guardian
    rule_id: str
    source: str | None  # a questionnaire id, or "lexicon" for a risk word in free text
    source_version: int | None
    reason: str  # as raised, in the cohort's language
    rule_reason: str | None  # the rule's reason in the reader's language, from the version that fired it
    status: str  # open | acknowledged | resolved
    evidence: dict[str, Any]
    occurrences: int
    created_at: datetime
    last_seen_at: datetime
    check_in_id: int | None  # the latest check-in that fired it
    case_id: int | None
    acknowledged_at: datetime | None  # resolving an unacknowledged alert acknowledges it too
    acknowledged_by_staff_id: int | None
    resolved_at: datetime | None
    resolved_by_staff_id: int | None
    outcome: str | None
    escalation_level: int  # 0 the directors, 1 the supervisors, 2 the admins
    escalate_at: datetime | None  # the next step's deadline while nobody has acknowledged
    # Whom to call: "王奶奶 · 13812345678 · 三组 村口" (core.households.identity); None once erased
    family: str | None = None


class AlertResolve(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    note: Note = Field(default=None, max_length=NOTE_MAX)


class AlertResolved(BaseModel):
    alert: AlertRead
    case_id: int | None
    case_closed: bool  # True when this was the case's last unresolved alert
    followup_check_in_ids: list[int]  # the follow-up (随访) scheduled when the case closed


class CaseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    cohort_id: int | None
    subject_key: str  # as on alerts; the ids below are None once the family erased its data
    child_id: int | None
    household_id: int | None
    guardian_id: int | None
    status: str  # open | closed
    responsible_staff_id: int | None
    opened_at: datetime
    closed_at: datetime | None
    closed_by_staff_id: int | None
    outcome: str | None
    followup_due_at: datetime | None
    family: str | None = None  # whom to call, while the family is enrolled (core.households.identity)


class CaseEventRead(BaseModel):
    id: int
    case_id: int | None  # None: a household visit with no case (月巡访)
    household_id: int | None
    alert_id: int | None
    at: datetime
    kind: str  # alert | alert_repeat | acknowledged | contact | referral | note | resolved | closed | …
    staff_id: int | None
    staff_name: str | None  # the staff member's display name; None for the system (raising, escalation)
    detail: dict[str, Any]  # method, referral target, outcome, escalation level, check-in ids: never names
    note: str | None

    @classmethod
    def of(cls, event: CaseEvent, *, staff_name: str | None) -> CaseEventRead:
        return cls(id=event.id, case_id=event.case_id, household_id=event.household_id, alert_id=event.alert_id,
                   at=event.at, kind=event.kind, staff_id=event.staff_id, staff_name=staff_name,
                   detail=event.detail or {}, note=event.note)


class CaseDetail(BaseModel):
    """A case with everything on it, oldest event first (the 一人一案 record)."""

    case: CaseRead
    nickname: str | None  # the child's; None for a guardian's or household's case, or once erased
    age: int | None
    responsible_name: str | None
    alerts: list[AlertRead]
    events: list[CaseEventRead]


class CaseClosed(BaseModel):
    case: CaseRead
    followup_check_in_ids: list[int]


class NoteCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: str = Field(min_length=1, max_length=NOTE_MAX)


class ContactCreate(BaseModel):
    """A phone call or a home visit."""

    model_config = ConfigDict(extra="forbid")

    method: Method
    note: Note = Field(default=None, max_length=NOTE_MAX)


class ReferralCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    to: ReferralTarget
    note: Note = Field(default=None, max_length=NOTE_MAX)


class CaseClose(BaseModel):
    model_config = ConfigDict(extra="forbid")

    outcome: Outcome
    note: Note = Field(default=None, max_length=NOTE_MAX)


# ---------------------------------------------------------------- the screening funnel


class FunnelPeriod(BaseModel):
    model_config = ConfigDict(populate_by_name=True)

    from_: date = Field(alias="from")  # local dates in the cohort's time zone, both inclusive
    to: date
    timezone: str


class FlaggedCounts(BaseModel):
    red: int
    orange: int
    yellow: int


class FunnelCounts(BaseModel):
    """Screened → flagged → helped: the counts a funnel reports, for one cohort or summed (see
    core.reports for the exact definitions)."""

    checkins_sent: int
    checkins_completed: int
    checkins_expired: int
    checkins_flagged: int
    flagged: FlaggedCounts
    acknowledged: int
    referred: int
    resolved: int
    escalated: int
    median_minutes_to_acknowledge: float | None
    p90_minutes_to_acknowledge: float | None


class FunnelReport(FunnelCounts):
    """The funnel of one cohort and period; counts only."""

    cohort_id: int
    period: FunnelPeriod


class FunnelTotal(FunnelCounts):
    """The funnel summed over cohorts (a county) for the same local days in each cohort's time
    zone; the times to acknowledge over all their acknowledged alerts together. `cohorts`: each
    cohort's own funnel, as GET /cohorts/{id}/reports/funnel gives it."""

    model_config = ConfigDict(populate_by_name=True)

    cohort_ids: list[int]
    from_: date = Field(alias="from")
    to: date
    cohorts: list[FunnelReport]
