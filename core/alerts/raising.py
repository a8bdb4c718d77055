"""Raising alerts: a fired questionnaire rule or a risk word in free text becomes a row for the
child director, joins the case (一人一案) of its child (opened if there is none), and is announced
to the cohort's directors through the outbox — all in the caller's transaction, so an alert
never exists without its case and its notifications.

One unresolved alert per subject, source and rule (a partial unique index enforces it): a
repeat — next week's check-in, a second message — is added to the open one (occurrences,
last_seen_at, the newest evidence, and a higher severity if the repeat is worse). Evidence
holds ids, item values, scores and lexicon terms: never a name, never the guardian's words.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts import notify
from core.content.questionnaires import SEVERITY_RANK
from core.db import dialect_insert
from core.staff.directors import primary_director_id
from core.models import Alert, Case, CaseEvent

ALERT_OPEN, ALERT_ACKNOWLEDGED, ALERT_RESOLVED = "open", "acknowledged", "resolved"
LEXICON_SOURCE = "lexicon"  # questionnaire_id of alerts raised by the risk lexicon


@dataclass(frozen=True)
class AlertSubject:
    """Who an alert is about: a child where known, else the guardian (WHO-5) or the household."""

    subject_key: str  # "child:<id>", "guardian:<id>" or "household:<id>"
    cohort_id: int | None
    household_id: int | None
    child_id: int | None = None
    guardian_id: int | None = None


@dataclass
class Raised:
    alert: Alert
    new: bool  # False: added to an alert that was already open


def _unresolved():
    return Alert.status != ALERT_RESOLVED


async def raise_alert(
    session: AsyncSession,
    *,
    subject: AlertSubject,
    source: str,
    source_version: int | None,
    rule_id: str,
    severity: str,
    audience: str,
    reason: str,
    evidence: dict[str, Any],
    seen: tuple[str, int],
    check_in_id: int | None,
    now: datetime,
) -> Raised:
    """Open an alert, or add this occurrence to the unresolved one. `seen` names the occurrence
    (("check_in_ids", 12) or ("free_text_ids", 5)): the same check-in firing the same rule twice
    (at the red answer, then at completion) counts once."""
    seen_list, seen_id = seen
    values = dict(
        subject_key=subject.subject_key, child_id=subject.child_id, household_id=subject.household_id,
        guardian_id=subject.guardian_id, cohort_id=subject.cohort_id, severity=severity, audience=audience,
        rule_id=rule_id, questionnaire_id=source, questionnaire_version=source_version, check_in_id=check_in_id,
        evidence={**evidence, seen_list: [seen_id]}, reason=reason, status=ALERT_OPEN, created_at=now,
        occurrences=1, last_seen_at=now,
    )
    new_id = (await session.execute(
        dialect_insert(session, Alert).values(**values)
        # The partial index's predicate as literal SQL: a bound parameter here makes PostgreSQL's
        # generic plan (from the sixth run of a prepared statement) miss the index.
        .on_conflict_do_nothing(index_elements=["subject_key", "questionnaire_id", "rule_id"],
                                index_where=text("status <> 'resolved'"))
        .returning(Alert.id)
    )).scalar()
    if new_id is not None:
        alert = await session.get(Alert, new_id)
        assert alert is not None
        await attach_to_case(session, alert=alert, new=True, now=now)
        await notify.announce(session, alert=alert, now=now)
        return Raised(alert, True)
    alert = await session.scalar(
        select(Alert).where(Alert.subject_key == subject.subject_key, Alert.questionnaire_id == source,
                            Alert.rule_id == rule_id, _unresolved())
        .with_for_update().execution_options(populate_existing=True)
    )
    assert alert is not None
    ids = list(alert.evidence.get(seen_list, []))
    repeat = seen_id not in ids
    if repeat:
        alert.occurrences += 1
        ids.append(seen_id)
    kept: dict[str, Any] = {k: alert.evidence[k] for k in ("check_in_ids", "free_text_ids") if k in alert.evidence}
    updated: dict[str, Any] = {**evidence, **kept, seen_list: ids}
    if repeat or "first" in alert.evidence:
        # The newest evidence on top, and what opened the alert kept beside it.
        updated["first"] = alert.evidence.get("first", {k: v for k, v in alert.evidence.items() if k != "first"})
    alert.evidence = updated
    worse = SEVERITY_RANK[severity] > SEVERITY_RANK[alert.severity]
    if worse:
        alert.severity = severity
        alert.reason = reason
    alert.last_seen_at = now
    if check_in_id is not None:
        alert.check_in_id = check_in_id
    if repeat:
        await attach_to_case(session, alert=alert, new=False, now=now)
    if worse and alert.status == ALERT_OPEN and alert.escalation_level == 0:
        await notify.announce(session, alert=alert, now=now, again=True)  # shorter deadline, told again
    elif repeat:
        await notify.tell_news(session, alert=alert, now=now)  # the new words reach every card at once
    await session.flush()
    return Raised(alert, False)


async def attach_to_case(session: AsyncSession, *, alert: Alert, new: bool, now: datetime) -> Case:
    """The open case of the alert's subject (opened now if there is none), with an event."""
    if alert.case_id is not None:
        case = await session.get(Case, alert.case_id)
        if case is not None and case.status == "open":
            session.add(CaseEvent(case_id=case.id, cohort_id=alert.cohort_id, household_id=alert.household_id,
                                  alert_id=alert.id, at=now, kind="alert_repeat",
                                  detail={"occurrences": alert.occurrences}))
            return case
    responsible = await primary_director_id(session, cohort_id=alert.cohort_id) if alert.cohort_id else None
    await session.execute(
        dialect_insert(session, Case)
        .values(cohort_id=alert.cohort_id, subject_key=alert.subject_key, child_id=alert.child_id,
                household_id=alert.household_id, guardian_id=alert.guardian_id, status="open",
                responsible_staff_id=responsible, opened_at=now)
        .on_conflict_do_nothing(index_elements=["subject_key"], index_where=text("status = 'open'"))
    )
    case = await session.scalar(select(Case).where(Case.subject_key == alert.subject_key, Case.status == "open"))
    assert case is not None
    alert.case_id = case.id
    session.add(CaseEvent(case_id=case.id, cohort_id=alert.cohort_id, household_id=alert.household_id,
                          alert_id=alert.id, at=now, kind="alert" if new else "alert_repeat",
                          detail={"severity": alert.severity, "rule_id": alert.rule_id}))
    await session.flush()
    return case
