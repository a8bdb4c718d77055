"""Read shape of an alert for staff. Acting on alerts (acknowledge, visit, resolve) comes later."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel

from core.models import Alert


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

    @classmethod
    def of(cls, alert: Alert, *, rule_reason: str | None) -> AlertRead:
        return cls(
            id=alert.id, cohort_id=alert.cohort_id, subject_key=alert.subject_key, child_id=alert.child_id,
            household_id=alert.household_id, guardian_id=alert.guardian_id, severity=alert.severity,
            audience=alert.audience, rule_id=alert.rule_id, source=alert.questionnaire_id,
            source_version=alert.questionnaire_version, reason=alert.reason, rule_reason=rule_reason,
            status=alert.status, evidence=alert.evidence, occurrences=alert.occurrences, created_at=alert.created_at,
            last_seen_at=alert.last_seen_at, check_in_id=alert.check_in_id,
        )
