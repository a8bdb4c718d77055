"""What staff do about alerts and cases, from the phone or the API: acknowledge, log a call or
home visit, refer, add a note, resolve (which closes the case when nothing else is open, and
schedules the follow-up check-in), close and reopen. Scoped (another cohort's alert or case is
"not found"), recorded as case events, and audited.

Directors and supervisors of the cohort, and admins, may act: an escalated alert reaches the
supervisors precisely so that they can."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.access import Scope
from core.alerts import notify
from core.alerts.queries import alert_messages
from core.alerts.raising import ALERT_ACKNOWLEDGED, ALERT_OPEN, ALERT_RESOLVED
from core.delivery.outbox import LANE_URGENT, enqueue
from core.errors import Conflict, Invalid, InvalidFields, NotFound
from core.messages import MessageKind
from core.models import Alert, Case, CaseEvent, CaseMeasure, CheckIn, Household
from core.models.enums import StaffRole

CASE_OPEN, CASE_CLOSED = "open", "closed"
CONTACT_METHODS = ("call", "visit")
# Where a child can be referred (转介).
REFERRAL_TARGETS = ("hospital_cmh", "school_counsellor", "police", "civil_affairs", "other")
OUTCOMES = ("safe_now", "family_supported", "referred", "family_left", "false_alarm", "other")
NOTE_MAX = 2000
# The follow-up check-in (随访) per subject: the weekly questions about a child, WHO-5 about a guardian.
FOLLOWUP_QUESTIONNAIRE = {"child": "weekly_checkin", "guardian": "who5", "household": "weekly_checkin"}


def _clean_note(note: str | None) -> str | None:
    if note is None:
        return None
    note = note.strip()
    if len(note) > NOTE_MAX:
        raise Invalid(f"a note is at most {NOTE_MAX} characters", field="note", code="note_too_long")
    return note or None


def _visible(scope: Scope, cohort_id: int | None) -> bool:
    return scope.is_admin or (cohort_id is not None and scope.sees(cohort_id))


_Row = TypeVar("_Row", Alert, Case)


async def _locked(session: AsyncSession, scope: Scope, model: type[_Row], row_id: int) -> _Row:
    """The row, locked for this transaction; outside the reader's cohorts it is not found."""
    row = await session.scalar(select(model).where(model.id == row_id).with_for_update()
                               .execution_options(populate_existing=True))
    if row is None or not _visible(scope, row.cohort_id):
        raise NotFound(f"{model.__tablename__[:-1]} not found")
    return row


async def _alert(session: AsyncSession, scope: Scope, alert_id: int) -> Alert:
    return await _locked(session, scope, Alert, alert_id)


async def _case(session: AsyncSession, scope: Scope, case_id: int) -> Case:
    return await _locked(session, scope, Case, case_id)


def record_event(session: AsyncSession, *, kind: str, scope: Scope, now: datetime, case: Case | None = None,
           alert: Alert | None = None, household_id: int | None = None, cohort_id: int | None = None,
           note: str | None = None, **detail: object) -> CaseEvent:
    event = CaseEvent(
        case_id=case.id if case else (alert.case_id if alert else None),
        cohort_id=cohort_id or (case.cohort_id if case else alert.cohort_id if alert else None),
        household_id=household_id or (case.household_id if case else alert.household_id if alert else None),
        alert_id=alert.id if alert else None, staff_id=scope.staff_id, at=now, kind=kind, detail=detail, note=note,
    )
    session.add(event)
    return event


def _take_responsibility(case: Case | None, scope: Scope) -> None:
    if case is not None and case.responsible_staff_id is None and scope.role == StaffRole.director:
        case.responsible_staff_id = scope.staff_id


@dataclass
class Acknowledged:
    alert: Alert
    first: bool  # False: someone had acknowledged it already (maybe a second director just now)


async def acknowledge(session: AsyncSession, *, scope: Scope, alert_id: int, now: datetime,
                      cards: bool = True) -> Acknowledged:
    """`cards`: queue an update of every staff card of the alert (False when the caller, the
    bot, edits them itself right away)."""
    alert = await _alert(session, scope, alert_id)
    if alert.status == ALERT_RESOLVED:
        raise Conflict("this alert is already resolved", code="resolved")
    if alert.status == ALERT_ACKNOWLEDGED:
        return Acknowledged(alert, False)
    await _acknowledge(session, alert, scope, now, cards)
    return Acknowledged(alert, True)


async def _cards_changed(session: AsyncSession, alert: Alert, now: datetime, cards: bool) -> None:
    """Every card of this alert in staff chats will show where it stands now ("acknowledged by…"),
    through the outbox (lane 0): an edit of each message already sent."""
    if not cards:
        return
    for address, message_id, _locale, level, staff_id in await alert_messages(session, alert_id=alert.id):
        await enqueue(session, address=address, kind=MessageKind.ALERT_UPDATE, ref=f"alert:{alert.id}:{message_id}",
                      cycle=alert.status, lane=LANE_URGENT, due_at=now, now=now, cohort_id=alert.cohort_id,
                      staff_id=staff_id,
                      payload={"alert_id": alert.id, "message_id": message_id, "level": level})


async def _acknowledge(session: AsyncSession, alert: Alert, scope: Scope, now: datetime, cards: bool) -> None:
    alert.status = ALERT_ACKNOWLEDGED
    alert.acknowledged_at, alert.acknowledged_by_staff_id = now, scope.staff_id
    alert.escalate_at = alert.remind_at = None
    case = await session.get(Case, alert.case_id) if alert.case_id else None
    _take_responsibility(case, scope)
    record_event(session, kind="acknowledged", scope=scope, now=now, alert=alert,
           minutes=round((now - alert.created_at).total_seconds() / 60, 1))
    audit.record(session, staff_id=scope.staff_id, action="update", entity="alert", entity_id=alert.id,
                 cohort_id=alert.cohort_id, now=now, fields=["status"], status=ALERT_ACKNOWLEDGED)
    await session.flush()
    await _cards_changed(session, alert, now, cards)


async def _target(session: AsyncSession, scope: Scope, *, alert_id: int | None, case_id: int | None,
                  household_id: int | None) -> tuple[Alert | None, Case | None, int | None, int | None]:
    """(alert, case, household id, cohort id) of what an action is about."""
    alert = case = None
    if alert_id is not None:
        alert = await _alert(session, scope, alert_id)
        case = await session.get(Case, alert.case_id) if alert.case_id else None
        return alert, case, alert.household_id, alert.cohort_id
    if case_id is not None:
        case = await _case(session, scope, case_id)
        return None, case, case.household_id, case.cohort_id
    household = await session.get(Household, household_id) if household_id is not None else None
    if household is None or not _visible(scope, household.cohort_id):
        raise NotFound("household not found")
    return None, None, household.id, household.cohort_id


async def log_contact(session: AsyncSession, *, scope: Scope, method: str, note: str | None, now: datetime,
                      alert_id: int | None = None, case_id: int | None = None,
                      household_id: int | None = None, cards: bool = True) -> CaseEvent:
    """A call or a home visit (the monthly visit, 月巡访, when about a household with no case).
    Acting on an alert acknowledges it."""
    if method not in CONTACT_METHODS:
        raise Invalid(f"method must be one of {', '.join(CONTACT_METHODS)}", field="method")
    note = _clean_note(note)  # checked before anything is written
    alert, case, household, cohort = await _target(session, scope, alert_id=alert_id, case_id=case_id,
                                                   household_id=household_id)
    if case is None and household is not None:
        # A visit to a household with one open case belongs in that case's history too.
        open_cases = (await session.scalars(select(Case).where(Case.household_id == household,
                                                               Case.status == CASE_OPEN))).all()
        case = open_cases[0] if len(open_cases) == 1 else None
    if alert is not None and alert.status == ALERT_OPEN:
        await _acknowledge(session, alert, scope, now, cards)
    _take_responsibility(case, scope)
    event = record_event(session, kind="contact", scope=scope, now=now, case=case, alert=alert, household_id=household,
                   cohort_id=cohort, note=note, method=method)
    audit.record(session, staff_id=scope.staff_id, action="create", entity="contact", cohort_id=cohort, now=now,
                 case_id=case.id if case else None, household_id=household, method=method)
    await session.flush()
    return event


async def refer(session: AsyncSession, *, scope: Scope, to: str, note: str | None, now: datetime,
                alert_id: int | None = None, case_id: int | None = None, cards: bool = True) -> CaseEvent:
    if to not in REFERRAL_TARGETS:
        raise Invalid(f"to must be one of {', '.join(REFERRAL_TARGETS)}", field="to")
    if alert_id is None and case_id is None:
        raise Invalid("refer an alert or a case", field="case_id")
    note = _clean_note(note)
    alert, case, household, cohort = await _target(session, scope, alert_id=alert_id, case_id=case_id,
                                                   household_id=None)
    if case is not None and case.status != CASE_OPEN:
        raise Conflict("this case is closed; reopen it first", code="case_closed")
    if alert is not None and alert.status == ALERT_OPEN:
        await _acknowledge(session, alert, scope, now, cards)
    _take_responsibility(case, scope)
    event = record_event(session, kind="referral", scope=scope, now=now, case=case, alert=alert, household_id=household,
                   cohort_id=cohort, note=note, to=to)
    audit.record(session, staff_id=scope.staff_id, action="create", entity="referral", cohort_id=cohort, now=now,
                 case_id=case.id if case else None, to=to)
    await session.flush()
    return event


async def add_note(session: AsyncSession, *, scope: Scope, case_id: int, text: str, now: datetime) -> CaseEvent:
    case = await _case(session, scope, case_id)
    note = _clean_note(text)
    if not note:
        raise Invalid("a note needs some words", field="text", code="note_empty")
    event = record_event(session, kind="note", scope=scope, now=now, case=case, note=note)
    audit.record(session, staff_id=scope.staff_id, action="create", entity="case_note", entity_id=case.id,
                 cohort_id=case.cohort_id, now=now)
    await session.flush()
    return event


@dataclass
class Resolved:
    alert: Alert | None
    case: Case | None
    case_closed: bool = False
    followups: list[CheckIn] = field(default_factory=list)  # filled in by core.flows.cases


async def resolve_alert(session: AsyncSession, *, scope: Scope, alert_id: int, outcome: str, note: str | None,
                        now: datetime, cards: bool = True) -> Resolved:
    """Resolve one alert; its case closes when it was the last unresolved alert of the case.
    The follow-up check-in that a closed case gets is core.flows.cases' to schedule."""
    if outcome not in OUTCOMES:
        raise Invalid(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
    note = _clean_note(note)
    alert = await _alert(session, scope, alert_id)
    if alert.status == ALERT_RESOLVED:
        raise Conflict("this alert is already resolved", code="resolved")
    await _resolve(session, alert, scope, outcome, note, now, cards)
    case = await session.get(Case, alert.case_id) if alert.case_id else None
    result = Resolved(alert=alert, case=case)
    if case is not None and case.status == CASE_OPEN:
        others = await session.scalar(select(func.count()).select_from(Alert).where(
            Alert.case_id == case.id, Alert.id != alert.id, Alert.status != ALERT_RESOLVED))
        if not others:
            await _close(session, case, scope, outcome, None, now, cards)
            result.case_closed = True
    await session.flush()
    return result


async def _resolve(session: AsyncSession, alert: Alert, scope: Scope, outcome: str, note: str | None,
                   now: datetime, cards: bool) -> None:
    if alert.acknowledged_at is None:
        alert.acknowledged_at, alert.acknowledged_by_staff_id = now, scope.staff_id
    alert.status, alert.outcome = ALERT_RESOLVED, outcome
    alert.resolved_at, alert.resolved_by_staff_id = now, scope.staff_id
    alert.escalate_at = alert.remind_at = None
    record_event(session, kind="resolved", scope=scope, now=now, alert=alert, note=note, outcome=outcome)
    audit.record(session, staff_id=scope.staff_id, action="update", entity="alert", entity_id=alert.id,
                 cohort_id=alert.cohort_id, now=now, fields=["status", "outcome"], status=ALERT_RESOLVED)
    await session.flush()
    await _cards_changed(session, alert, now, cards)


async def close_case(session: AsyncSession, *, scope: Scope, case_id: int, outcome: str, note: str | None,
                     now: datetime, cards: bool = True) -> Resolved:
    """Close a case: its unresolved alerts are resolved with the same outcome (the follow-up
    check-in: core.flows.cases)."""
    if outcome not in OUTCOMES:
        raise Invalid(f"outcome must be one of {', '.join(OUTCOMES)}", field="outcome")
    case = await _case(session, scope, case_id)
    if case.status != CASE_OPEN:
        raise Conflict("this case is already closed", code="case_closed")
    # Not flushed here: the follow-up (core.flows.cases) adds to the same rows, and the case's
    # changes go out with it in one UPDATE (any query before then flushes them as usual).
    await _close(session, case, scope, outcome, _clean_note(note), now, cards)
    return Resolved(alert=None, case=case, case_closed=True)


async def _close(session: AsyncSession, case: Case, scope: Scope, outcome: str, note: str | None,
                 now: datetime, cards: bool) -> None:
    for alert in (await session.scalars(select(Alert).where(Alert.case_id == case.id,
                                                           Alert.status != ALERT_RESOLVED))).all():
        await _resolve(session, alert, scope, outcome, None, now, cards)
    case.status, case.outcome, case.closed_at, case.closed_by_staff_id = CASE_CLOSED, outcome, now, scope.staff_id
    record_event(session, kind="closed", scope=scope, now=now, case=case, note=note, outcome=outcome)
    audit.record(session, staff_id=scope.staff_id, action="update", entity="case", entity_id=case.id,
                 cohort_id=case.cohort_id, now=now, fields=["status", "outcome"], status=CASE_CLOSED)


async def reopen_case(session: AsyncSession, *, scope: Scope, case_id: int, now: datetime) -> Case:
    case = await _case(session, scope, case_id)
    if case.status == CASE_OPEN:
        raise Conflict("this case is open", code="case_open")
    other = await session.scalar(select(Case.id).where(Case.subject_key == case.subject_key, Case.status == CASE_OPEN))
    if other is not None:
        raise Conflict(f"case {other} is open for the same child; add to it instead", code="other_case_open")
    case.status, case.closed_at, case.closed_by_staff_id, case.outcome = CASE_OPEN, None, None, None
    record_event(session, kind="reopened", scope=scope, now=now, case=case)
    audit.record(session, staff_id=scope.staff_id, action="update", entity="case", entity_id=case.id,
                 cohort_id=case.cohort_id, now=now, fields=["status"], status=CASE_OPEN)
    await session.flush()
    return case


async def followup_finished(session: AsyncSession, *, checkin: CheckIn, rules: list[str], severity: str | None,
                            now: datetime) -> None:
    """A follow-up check-in was answered (or went unanswered): record it on the case and tell the
    directors what it found."""
    if checkin.case_id is None:
        return
    case = await session.get(Case, checkin.case_id)
    if case is None:
        return
    session.add(CaseEvent(case_id=case.id, cohort_id=case.cohort_id, household_id=case.household_id, at=now,
                          kind="followup_result", detail={"check_in_id": checkin.id, "state": checkin.state,
                                                          "rules": rules, "severity": severity}))
    await notify.tell_directors(session, cohort_id=case.cohort_id, kind=MessageKind.FOLLOWUP_RESULT,
                                ref=f"checkin:{checkin.id}", now=now,
                                payload={"case_id": case.id, "check_in_id": checkin.id, "state": checkin.state,
                                         "rules": rules, "severity": severity})
    await session.flush()


MEASURE_TEXT_MAX = 500
MEASURE_RESPONSIBLE_MAX = 100


async def add_measure(session: AsyncSession, *, scope: Scope, case_id: int, text: str, responsible: str,
                      due_on: date | None, now: datetime) -> CaseMeasure:
    """A line of the case's plan (what, who, by when), audited. Whoever may act on the case
    (as with notes and contacts) adds them; a case outside the scope is not found."""
    case = await _case(session, scope, case_id)
    what, who = " ".join(text.split()), " ".join(responsible.split())
    problems = []
    if not what or len(what) > MEASURE_TEXT_MAX:
        problems.append(("text", f"say what will be done, in at most {MEASURE_TEXT_MAX} characters"))
    if not who or len(who) > MEASURE_RESPONSIBLE_MAX:
        problems.append(("responsible", f"name the person responsible, in at most {MEASURE_RESPONSIBLE_MAX} characters"))
    if problems:
        raise InvalidFields(problems)
    row = CaseMeasure(case_id=case.id, text=what, responsible=who, due_on=due_on, created_at=now,
                      created_by_staff_id=scope.staff_id)
    session.add(row)
    await session.flush()
    audit.record(session, staff_id=scope.staff_id, action="create", entity="case_measure", entity_id=row.id,
                 cohort_id=case.cohort_id, now=now, case_id=case.id)
    return row


async def list_measures(session: AsyncSession, *, case_id: int) -> list[CaseMeasure]:
    """The plan's lines, soonest due first (those without a date last). The caller has read the case."""
    rows = (await session.scalars(select(CaseMeasure).where(CaseMeasure.case_id == case_id)
                                  .order_by(CaseMeasure.id))).all()
    return sorted(rows, key=lambda m: (m.due_on is None, m.due_on or date.min, m.id))
