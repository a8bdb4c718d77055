"""Alert and case actions whose consequences reach into check-ins: a case that closes (its last
alert resolved, or closed as a whole) gets its follow-up check-in (随访) here, so the alert
domain never imports the check-in domain. Every adapter resolves and closes through these."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope
from core.alerts import cases, notify
from core.checkin import service as checkins
from core.errors import NotFound
from core.models import Case, CheckIn, Child, Cohort


async def resolve_alert(session: AsyncSession, *, scope: Scope, alert_id: int, outcome: str, note: str | None,
                        now: datetime, cards: bool = True) -> cases.Resolved:
    """Resolve one alert (core.alerts.cases.resolve_alert); when that closes its case, the
    follow-up check-in is scheduled."""
    result = await cases.resolve_alert(session, scope=scope, alert_id=alert_id, outcome=outcome, note=note, now=now,
                                       cards=cards)
    await _follow_up(session, result, scope=scope, outcome=outcome, now=now)
    return result


async def close_case(session: AsyncSession, *, scope: Scope, case_id: int, outcome: str, note: str | None,
                     now: datetime, cards: bool = True) -> cases.Resolved:
    result = await cases.close_case(session, scope=scope, case_id=case_id, outcome=outcome, note=note, now=now,
                                    cards=cards)
    await _follow_up(session, result, scope=scope, outcome=outcome, now=now)
    return result


async def _follow_up(session: AsyncSession, result: cases.Resolved, *, scope: Scope, outcome: str,
                     now: datetime) -> None:
    if result.case_closed and result.case is not None and outcome != "family_left":  # a family that left: nobody to ask
        result.followups = await schedule_followup(session, case=result.case, scope=scope, now=now)


async def schedule_followup(session: AsyncSession, *, case: Case, scope: Scope, now: datetime) -> list[CheckIn]:
    """The follow-up (随访): the same questions again after `followup_days`, for the director to
    see how the child (or the guardian) is doing. Goes out through the outbox like any check-in.

    Without autoflush: none of its queries reads what the close changed, so the case's closing
    and its follow-up date go out in one UPDATE, and the closing and follow-up events in one
    INSERT, when the transaction commits (or the caller's next query flushes)."""
    with session.no_autoflush:
        return await _schedule_followup(session, case=case, scope=scope, now=now)


async def _schedule_followup(session: AsyncSession, *, case: Case, scope: Scope, now: datetime) -> list[CheckIn]:
    if case.cohort_id is None:
        return []
    # Held while planning: the session's identity map keeps it only while referenced, and the
    # policy and the planner both read it (one SELECT, not two).
    cohort = await session.get(Cohort, case.cohort_id)
    if cohort is None:
        return []  # as when the planner finds no cohort
    policy = await notify.policy_for(session, case.cohort_id)
    due = now + timedelta(days=policy.followup_days)
    kind = case.subject_key.split(":", 1)[0]
    subject_keys = {case.subject_key}
    if kind == "household" and case.household_id is not None:
        children = (await session.scalars(select(Child.id).where(Child.household_id == case.household_id))).all()
        subject_keys = {checkins.child_key(child_id) for child_id in children}
    questionnaire_id = cases.FOLLOWUP_QUESTIONNAIRE[kind]
    cycle = f"followup-{case.id}-{now:%Y%m%d%H%M}"
    try:
        await checkins.open_checkins_for_cohort(session, cohort_id=case.cohort_id, questionnaire_id=questionnaire_id,
                                                cycle=cycle, now=now, due_at=due, subject_keys=subject_keys,
                                                case_id=case.id)
    except NotFound:
        return []  # the questionnaire is retired or gone: nothing to send
    # By the unique key (questionnaire, subject, cycle) the rows were just opened under, so the
    # index uq_check_ins_subject_cycle finds them; check_ins.case_id has no index, and a scan of
    # a big cohort's check-ins took most of a case close's time (issue #16).
    rows = list((await session.scalars(select(CheckIn).where(
        CheckIn.questionnaire_id == questionnaire_id, CheckIn.subject_key.in_(sorted(subject_keys)),
        CheckIn.cycle == cycle, CheckIn.case_id == case.id).order_by(CheckIn.id))).all())
    case.followup_due_at = due
    cases.record_event(session, kind="followup_scheduled", scope=scope, now=now, case=case, due_at=due.isoformat(),
                       questionnaire=questionnaire_id, check_in_ids=[c.id for c in rows])
    return rows
