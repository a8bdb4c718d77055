"""What a director reads on the phone: open alerts, a case's history, the cohort's roster and the
households due a visit. Scoped to the reader's cohorts and audited (personal data about
children); pure reads otherwise."""
from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Select, case, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.access import Scope
from core.alerts.notify import policy_for
from core.alerts.raising import ALERT_ACKNOWLEDGED, ALERT_OPEN
from core.content.questionnaires import SEVERITY_RANK
from core.messages import MessageKind
from core.people import age_in_years
from core.errors import NotFound
from core.households.identity import family_label_of, family_labels
from core.models import Alert, Case, CaseEvent, CheckIn, Child, Cohort, Delivery, Guardian, Household, Staff


def _cohorts(scope: Scope):  # type: ignore[no-untyped-def]
    return None if scope.cohort_ids is None else list(scope.cohort_ids)


@dataclass
class AlertLine:
    alert: Alert
    nickname: str | None
    age: int | None
    family: str | None = None  # whom to call (core.households.identity)


async def _children(session: AsyncSession, child_ids: set[int]) -> dict[int, Child]:
    if not child_ids:
        return {}
    return {c.id: c for c in (await session.scalars(select(Child).where(Child.id.in_(child_ids)))).all()}


UNRESOLVED = (ALERT_OPEN, ALERT_ACKNOWLEDGED)
_rank = case(SEVERITY_RANK, value=Alert.severity, else_=0)
AlertOrder = Literal["urgent", "newest"]
ORDERS = {
    # The director's order: most severe first, then the one waiting longest before a newer one
    # of the same colour.
    "urgent": (_rank.desc(), Alert.created_at, Alert.id),
    "newest": (Alert.created_at.desc(), Alert.id.desc()),  # history
}


def alerts_in_order(*, cohort_ids: Collection[int] | None, statuses: Collection[str] = UNRESOLVED,
                    order: AlertOrder = "urgent") -> Select[Alert]:
    """The one alert list query: the phone's /alerts and the API's list (which adds its filters)
    both start here, so they always agree on what comes first. None: every cohort (admins)."""
    query = select(Alert).where(Alert.status.in_(statuses))
    if cohort_ids is not None:
        query = query.where(Alert.cohort_id.in_(cohort_ids))
    return query.order_by(*ORDERS[order])


async def open_alerts(session: AsyncSession, *, scope: Scope, now: datetime, limit: int = 20) -> list[AlertLine]:
    """Unresolved alerts of the reader's cohorts, most urgent first."""
    alerts = list((await session.scalars(alerts_in_order(cohort_ids=_cohorts(scope)).limit(limit))).all())
    children = await _children(session, {a.child_id for a in alerts if a.child_id})
    audit.record(session, staff_id=scope.staff_id, action="read", entity="alert", now=now, ids=[a.id for a in alerts])
    today = now.date()
    families = await family_labels(session, household_ids=[a.household_id for a in alerts])
    return [AlertLine(a, children[a.child_id].nickname if a.child_id in children else None,
                      age_in_years(children[a.child_id].birth_year, children[a.child_id].birth_month, today)
                      if a.child_id in children else None, families.get(a.household_id or 0)) for a in alerts]


@dataclass
class CaseHistory:
    case: Case
    nickname: str | None
    age: int | None
    responsible: str | None
    alerts: list[Alert]
    events: list[tuple[CaseEvent, str | None]]  # each with the staff member's name
    family: str | None = None  # whom to call, while the family is enrolled


async def case_history(session: AsyncSession, *, scope: Scope, case_id: int, now: datetime) -> CaseHistory:
    case = await session.get(Case, case_id)
    if case is None or not (scope.is_admin or (case.cohort_id is not None and scope.sees(case.cohort_id))):
        raise NotFound("case not found")
    child = await session.get(Child, case.child_id) if case.child_id else None
    responsible = await session.scalar(select(Staff.display_name).where(Staff.id == case.responsible_staff_id)) \
        if case.responsible_staff_id else None
    alerts = list((await session.scalars(select(Alert).where(Alert.case_id == case.id).order_by(Alert.id))).all())
    rows = (await session.execute(
        select(CaseEvent, Staff.display_name).outerjoin(Staff, Staff.id == CaseEvent.staff_id)
        .where(CaseEvent.case_id == case.id).order_by(CaseEvent.at, CaseEvent.id)
    )).all()
    audit.record(session, staff_id=scope.staff_id, action="read", entity="case", entity_id=case.id,
                 cohort_id=case.cohort_id, now=now)
    today = now.astimezone(ZoneInfo(await cohort_timezone(session, case.cohort_id))).date()
    return CaseHistory(case=case, nickname=child.nickname if child else None,
                       age=age_in_years(child.birth_year, child.birth_month, today) if child else None,
                       responsible=responsible, alerts=alerts, events=[(e, name) for e, name in rows],
                       family=await family_label_of(session, household_id=case.household_id))


@dataclass
class RosterChild:
    nickname: str
    age: int
    last_checkin: datetime | None = None  # when the last check-in about this child was completed
    last_band: str | None = None  # the most severe alert it raised (red, orange, yellow), or "ok"


@dataclass
class RosterLine:
    household_id: int
    cohort_id: int
    children: list[RosterChild] = field(default_factory=list)
    guardians: list[tuple[str, bool]] = field(default_factory=list)  # (relationship, lives with the children)
    open_cases: list[int] = field(default_factory=list)
    last_contact: datetime | None = None  # the last call or home visit
    family: str | None = None  # whom to call (core.households.identity)


async def _last_contacts(session: AsyncSession, household_ids: list[int]) -> dict[int, datetime]:
    if not household_ids:
        return {}
    rows = await session.execute(
        select(CaseEvent.household_id, func.max(CaseEvent.at))
        .where(CaseEvent.household_id.in_(household_ids), CaseEvent.kind == "contact")
        .group_by(CaseEvent.household_id)
    )
    return {h: at for h, at in rows if h is not None}


async def roster(session: AsyncSession, *, scope: Scope, now: datetime, cohort_id: int | None = None,
                 limit: int = 200) -> list[RosterLine]:
    """The reader's households: children (nickname, age, last check-in and what it showed),
    guardians, open cases and the last contact."""
    query = select(Household).order_by(Household.cohort_id, Household.id).limit(limit)
    cohorts = _cohorts(scope)
    if cohort_id is not None:
        if not scope.sees(cohort_id):
            raise NotFound("cohort not found")
        query = query.where(Household.cohort_id == cohort_id)
    elif cohorts is not None:
        query = query.where(Household.cohort_id.in_(cohorts))
    households = list((await session.scalars(query)).all())
    ids = [h.id for h in households]
    lines = {h.id: RosterLine(household_id=h.id, cohort_id=h.cohort_id) for h in households}
    if not ids:
        return []
    today = now.date()
    children = (await session.scalars(select(Child).where(Child.household_id.in_(ids)).order_by(Child.id))).all()
    latest: dict[int, CheckIn] = {}
    for c in (await session.scalars(
            select(CheckIn).where(CheckIn.household_id.in_(ids), CheckIn.state == "completed",
                                  CheckIn.child_id.is_not(None)).order_by(CheckIn.completed_at))).all():
        if c.child_id is not None:  # always, by the query
            latest[c.child_id] = c
    fired: dict[int, list[str]] = {}
    if latest:
        for check_in_id, severity in (await session.execute(
                select(Alert.check_in_id, Alert.severity)
                .where(Alert.check_in_id.in_([c.id for c in latest.values()])))).all():
            if check_in_id is not None:  # always, by the query
                fired.setdefault(check_in_id, []).append(severity)
    for child in children:
        entry = RosterChild(nickname=child.nickname, age=age_in_years(child.birth_year, child.birth_month, today))
        checkin = latest.get(child.id)
        if checkin is not None:
            entry.last_checkin = checkin.completed_at
            severities = fired.get(checkin.id, [])
            entry.last_band = max(severities, key=SEVERITY_RANK.__getitem__) if severities else "ok"
        lines[child.household_id].children.append(entry)
    for g in (await session.scalars(select(Guardian).where(Guardian.household_id.in_(ids)).order_by(Guardian.id))).all():
        lines[g.household_id].guardians.append((g.relationship, g.lives_with_children))
    for case_id, household_id in (await session.execute(
            select(Case.id, Case.household_id).where(Case.household_id.in_(ids), Case.status == "open")
            .order_by(Case.id))).all():
        if household_id is not None:  # always, by the query
            lines[household_id].open_cases.append(case_id)
    for household_id, at in (await _last_contacts(session, ids)).items():
        lines[household_id].last_contact = at
    for household_id, label in (await family_labels(session, household_ids=ids)).items():
        lines[household_id].family = label
    audit.record(session, staff_id=scope.staff_id, action="read", entity="household", cohort_id=cohort_id, now=now,
                 ids=ids, view="roster")
    return list(lines.values())


async def visits_due(session: AsyncSession, *, scope: Scope, now: datetime) -> list[RosterLine]:
    """Households nobody has visited or called within their cohort's visit interval (default 30
    days; 月巡访), the longest waiting first."""
    lines = await roster(session, scope=scope, now=now)
    due: list[RosterLine] = []
    for line in lines:
        policy = await policy_for(session, line.cohort_id)
        if line.last_contact is None or now - line.last_contact > timedelta(days=policy.visit_days):
            due.append(line)
    return sorted(due, key=lambda line: (line.last_contact is not None, line.last_contact or now, line.household_id))


async def alert_messages(session: AsyncSession, *, alert_id: int) -> list[tuple[str, str, str, int, int]]:
    """(address, message id, staff locale, escalation level, staff id) of every card of this
    alert sent to staff, to update them all when someone acts ("acknowledged by …")."""
    rows = await session.execute(
        select(Delivery.address, Delivery.provider_message_id, Staff.locale, Delivery.payload, Staff.id)
        .join(Staff, Staff.id == Delivery.staff_id)
        .where(Delivery.kind == MessageKind.ALERT, Delivery.about("alert", alert_id), Delivery.provider_message_id.is_not(None))
        .order_by(Delivery.id)
    )
    return [(address, message_id, locale, int((payload or {}).get("level", 0)), staff_id)
            for address, message_id, locale, payload, staff_id in rows]


async def cohort_timezone(session: AsyncSession, cohort_id: int | None) -> str:
    return (await session.scalar(select(Cohort.timezone).where(Cohort.id == cohort_id))) or "Asia/Shanghai"


async def followups_due(session: AsyncSession, *, scope: Scope, now: datetime,
                        within: timedelta = timedelta(days=7), limit: int = 50) -> list[Case]:
    """Open cases whose follow-up (随访) is overdue or falls within `within`, the soonest first."""
    query = select(Case).where(Case.status == "open", Case.followup_due_at.is_not(None),
                               Case.followup_due_at <= now + within)
    cohorts = _cohorts(scope)
    if cohorts is not None:
        query = query.where(Case.cohort_id.in_(cohorts))
    rows = list((await session.scalars(query.order_by(Case.followup_due_at, Case.id).limit(limit))).all())
    audit.record(session, staff_id=scope.staff_id, action="read", entity="case", now=now, ids=[c.id for c in rows],
                 view="followups_due")
    return rows


async def household_cases(session: AsyncSession, *, scope: Scope, household_id: int) -> list[Case]:
    """A household's cases, newest first (the caller has read the household, which is audited)."""
    rows = (await session.scalars(select(Case).where(Case.household_id == household_id)
                                  .order_by(Case.opened_at.desc(), Case.id.desc()))).all()
    return [c for c in rows if c.cohort_id is not None and scope.sees(c.cohort_id)]
