"""Check-ins staff send now: to one child, one household or a whole cohort, when a director is
worried (after a call, a visit, a neighbour's word) and does not want to wait for the calendar.

The same rows and rules as the scheduled ones: one check-in per child (or guardian, for a
questionnaire about the guardian) per cycle, asked of the guardians who live with the child,
sent through the outbox on the check-in lane, outside quiet hours, reminded and expired as
usual. The cycle is ad hoc — `adhoc:<the cohort's local date>:<household|child|cohort>:<id>` —
so pressing "send" twice the same day sends once, and a child who already has the same
questionnaire open is not asked twice. The round row records who asked and why; the audit log
too. Scoped: another cohort's household or child is not found."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.access import Scope
from core.checkin import schedule as cal
from core.checkin.service import (
    ANSWERABLE, DEFAULT_EXPIRY, child_key, get_questionnaire, guardian_key, open_checkins_for_cohort,
)
from core.db import dialect_insert
from core.errors import Invalid, NotFound
from core.models import CheckIn, CheckInRound, Child, Cohort, Guardian, Household

Target = Literal["cohort", "household", "child"]
TARGETS: tuple[Target, ...] = ("cohort", "household", "child")
DEFAULT_QUESTIONNAIRE = "weekly_checkin"
REASON_MAX = 500


@dataclass
class SendNowResult:
    target: Target
    target_id: int
    cohort_id: int
    questionnaire_id: str
    cycle: str
    round_id: int
    checkins: int  # opened now
    deliveries: int  # first messages queued now
    already_open: int  # subjects skipped: the same questionnaire is open for them already
    already_sent: bool  # the same target got this questionnaire earlier today: nothing new


async def _cohort_of(session: AsyncSession, scope: Scope, target: Target, target_id: int) -> int:
    if target == "cohort":
        cohort_id = await session.scalar(select(Cohort.id).where(Cohort.id == target_id))
    elif target == "household":
        cohort_id = await session.scalar(select(Household.cohort_id).where(Household.id == target_id))
    else:
        cohort_id = await session.scalar(
            select(Household.cohort_id).join(Child, Child.household_id == Household.id).where(Child.id == target_id))
    if cohort_id is None or not scope.sees(cohort_id):
        raise NotFound(f"{target} not found")
    scope.require_change(cohort_id)  # supervisors read; directors and admins act
    return cohort_id


async def _subject_keys(session: AsyncSession, *, subject: str, target: Target, target_id: int) -> set[str]:
    if subject == "child":
        query = select(Child.id).join(Household, Household.id == Child.household_id)
        where = {"cohort": Household.cohort_id == target_id, "household": Household.id == target_id,
                 "child": Child.id == target_id}[target]
        return {child_key(i) for i in (await session.scalars(query.where(where))).all()}
    if target == "child":
        raise Invalid("this questionnaire is about the guardian: send it to a household or a cohort",
                      field="questionnaire_id", code="about_the_guardian")
    query = select(Guardian.id).join(Household, Household.id == Guardian.household_id)
    where = Household.cohort_id == target_id if target == "cohort" else Household.id == target_id
    return {guardian_key(i) for i in (await session.scalars(query.where(where))).all()}


def clean_reason(reason: str | None) -> str:
    text = " ".join((reason or "").split())
    if not text:
        raise Invalid("say why this check-in is sent now", field="reason", code="reason_missing")
    if len(text) > REASON_MAX:
        raise Invalid(f"at most {REASON_MAX} characters", field="reason", code="reason_too_long")
    return text


async def send_checkin_now(
    session: AsyncSession,
    *,
    scope: Scope,
    target: Target,
    target_id: int,
    reason: str,
    now: datetime,
    questionnaire_id: str = DEFAULT_QUESTIONNAIRE,
) -> SendNowResult:
    """Open the questionnaire now for the target's children (or guardians) and queue the first
    message. Never commits."""
    if target not in TARGETS:
        raise Invalid(f"must be one of {', '.join(TARGETS)}", field="target")
    text = clean_reason(reason)
    cohort_id = await _cohort_of(session, scope, target, target_id)
    q = await get_questionnaire(session, questionnaire_id=questionnaire_id)
    cohort = await session.get(Cohort, cohort_id)
    assert cohort is not None
    local_day = now.astimezone(ZoneInfo(cohort.timezone)).date()
    cycle = f"adhoc:{local_day.isoformat()}:{target}:{target_id}"
    rule = cal.parse_schedule(cohort.checkin_schedule).get(q.id)
    expires_after = rule.expires_after if rule else DEFAULT_EXPIRY

    round_id = (await session.execute(
        dialect_insert(session, CheckInRound)
        .values(cohort_id=cohort_id, questionnaire_id=q.id, questionnaire_version=q.version, cycle=cycle, slot_at=now,
                planned_at=now, checkins=0, deliveries=0, requested_by_staff_id=scope.staff_id, reason=text)
        .on_conflict_do_nothing(index_elements=["cohort_id", "questionnaire_id", "cycle"])
        .returning(CheckInRound.id)
    )).scalar()
    result = SendNowResult(target=target, target_id=target_id, cohort_id=cohort_id, questionnaire_id=q.id,
                           cycle=cycle, round_id=round_id or 0, checkins=0, deliveries=0, already_open=0,
                           already_sent=round_id is None)
    if round_id is None:  # sent to the same target today already
        result.round_id = int(await session.scalar(select(CheckInRound.id).where(
            CheckInRound.cohort_id == cohort_id, CheckInRound.questionnaire_id == q.id,
            CheckInRound.cycle == cycle)) or 0)
    else:
        keys = await _subject_keys(session, subject=q.subject, target=target, target_id=target_id)
        busy = set((await session.scalars(
            select(CheckIn.subject_key).where(CheckIn.questionnaire_id == q.id, CheckIn.subject_key.in_(keys),
                                              CheckIn.state.in_(ANSWERABLE), CheckIn.expires_at > now)
        )).all()) if keys else set()
        planned = await open_checkins_for_cohort(session, cohort_id=cohort_id, questionnaire_id=q.id, cycle=cycle,
                                                 now=now, due_at=now, expires_after=expires_after,
                                                 subject_keys=keys - busy)
        result.checkins, result.deliveries, result.already_open = planned.checkins, planned.deliveries, len(busy)
        row = await session.get(CheckInRound, round_id)
        assert row is not None
        row.checkins, row.deliveries = planned.checkins, planned.deliveries
    audit.record(session, staff_id=scope.staff_id, action="send_checkin", entity=target, entity_id=target_id,
                 cohort_id=cohort_id, now=now, questionnaire_id=q.id, cycle=cycle, reason=text,
                 checkins=result.checkins, already_sent=result.already_sent)
    await session.flush()
    return result
