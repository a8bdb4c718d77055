"""Staff reading alerts and cases: filtered, scoped to the reader's cohorts (others' are not
found) and audited, since alerts and cases are personal data about children. Acting on them is
core.alerts.cases; the case history itself is core.alerts.queries.case_history."""
from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement, Row, and_, case, false, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.access import Scope
from core.alerts import queries
from core.alerts.raising import LEXICON_SOURCE
from core.alerts.schemas import AlertRead, CaseDetail, CaseEventRead, CaseRead
from core.catalog.questionnaires import questionnaire_file
from core.errors import Invalid, NotFound
from core.households.identity import family_labels
from core.models import Alert, Case, Child, Cohort, Questionnaire

AlertOrder = queries.AlertOrder

# What a list reads of each row: exactly the fields of its response model, so a list builds
# them from plain rows (attribute access by the same names) without loading ORM objects.
ALERT_COLUMNS = tuple(getattr(Alert, name) for name in (
    "id", "cohort_id", "subject_key", "child_id", "household_id", "guardian_id", "severity", "audience", "rule_id",
    "questionnaire_id", "questionnaire_version", "reason", "status", "evidence", "occurrences", "created_at",
    "last_seen_at", "check_in_id", "case_id", "acknowledged_at", "acknowledged_by_staff_id", "resolved_at",
    "resolved_by_staff_id", "outcome", "escalation_level", "escalate_at"))
CASE_COLUMNS = tuple(getattr(Case, name) for name in CaseRead.model_fields if name != "family")


async def _require_cohort(session: AsyncSession, scope: Scope, cohort_id: int) -> None:
    if not scope.sees(cohort_id):
        raise NotFound("cohort not found", field="cohort_id")
    # A staff member's cohorts exist (staff_cohorts' foreign key; cohorts are never deleted):
    # only an admin's "every cohort" needs the lookup.
    if scope.cohort_ids is None and await session.scalar(select(Cohort.id).where(Cohort.id == cohort_id)) is None:
        raise NotFound("cohort not found", field="cohort_id")


def month_index(year: int, month: int) -> int:
    """Months since year 0: a child's age in full years is ⌊(today − birth) / 12⌋ in these units,
    which is core.people.age_in_years (the birthday counts from the start of its month)."""
    return year * 12 + month - 1


async def _child_age(session: AsyncSession, scope: Scope, now: datetime, age_min: int | None,
                     age_max: int | None) -> ColumnElement[bool]:
    """Children aged age_min..age_max (years, both inclusive) on today's date in their cohort's
    time zone, as a condition on Child and Cohort. Cohorts whose local month is the same share
    one pair of bounds on the child's birth month."""
    zones = select(Cohort.timezone).distinct()
    if scope.cohort_ids is not None:
        zones = zones.where(Cohort.id.in_(scope.cohort_ids))
    by_month: dict[int, list[str]] = {}
    for zone in (await session.scalars(zones)).all():
        today = now.astimezone(ZoneInfo(zone)).date()
        by_month.setdefault(month_index(today.year, today.month), []).append(zone)
    born = Child.birth_year * 12 + Child.birth_month - 1
    conditions: list[ColumnElement[bool]] = []
    for today_index, zone_names in by_month.items():
        parts: list[ColumnElement[bool]] = [Cohort.timezone.in_(zone_names)]
        if age_min is not None:
            parts.append(born <= today_index - 12 * age_min)
        if age_max is not None:
            parts.append(born > today_index - 12 * (age_max + 1))
        conditions.append(and_(*parts))
    return or_(*conditions) if conditions else false()


async def list_alerts(
    session: AsyncSession,
    *,
    scope: Scope,
    now: datetime,
    cohort_id: int | None = None,
    severities: list[str] | None = None,
    statuses: list[str] | None = None,
    child_id: int | None = None,
    household_id: int | None = None,
    audience: str | None = None,
    since: datetime | None = None,
    open_longer_than: timedelta | None = None,
    child_age_min: int | None = None,
    child_age_max: int | None = None,
    order: AlertOrder = "urgent",
    limit: int = 50,
    offset: int = 0,
) -> list[Row[Any]]:
    """Unresolved alerts unless `statuses` says otherwise; `since` is when they were opened,
    `open_longer_than` their age (opened at least that long before now). A child-age filter
    only ever matches alerts about a child. Order `urgent`: most severe first, then the one
    waiting longest — the director's /alerts on the phone; `newest`: newest first, for history."""
    if child_age_min is not None and child_age_max is not None and child_age_min > child_age_max:
        raise Invalid("must not be more than child_age_max", field="child_age_min")
    if cohort_id is not None:
        await _require_cohort(session, scope, cohort_id)
    query = queries.alerts_in_order(cohort_ids=[cohort_id] if cohort_id is not None else scope.cohort_ids,
                                    statuses=statuses or queries.UNRESOLVED, order=order)
    if severities:
        query = query.where(Alert.severity.in_(severities))
    if child_id is not None:
        query = query.where(Alert.child_id == child_id)
    if household_id is not None:
        query = query.where(Alert.household_id == household_id)
    if audience is not None:
        query = query.where(Alert.audience == audience)
    if since is not None:
        query = query.where(Alert.created_at >= since)
    if open_longer_than is not None:
        query = query.where(Alert.created_at <= now - open_longer_than)
    if child_age_min is not None or child_age_max is not None:
        query = (query.join(Child, Child.id == Alert.child_id).join(Cohort, Cohort.id == Alert.cohort_id)
                 .where(await _child_age(session, scope, now, child_age_min, child_age_max)))
    # Columns, not Alert objects (no identity map, no instance state): rows read like alerts.
    # The hash of the questionnaire version that fired each alert comes along, so its rules'
    # reasons come from the process's cache without another query (alert_reads).
    query = query.outerjoin(Questionnaire, and_(Questionnaire.id == Alert.questionnaire_id,
                                                Questionnaire.version == Alert.questionnaire_version))
    rows: list[Any] = list((await session.execute(
        query.with_only_columns(*ALERT_COLUMNS, Questionnaire.sha256.label("questionnaire_sha256"))
        .limit(limit).offset(offset)
    )).all())
    audit.record(session, staff_id=scope.staff_id, action="read", entity="alert", cohort_id=cohort_id, now=now,
                 ids=[a.id for a in rows])
    return rows


async def get_alert(session: AsyncSession, *, scope: Scope, alert_id: int, now: datetime) -> Alert:
    alert = await session.get(Alert, alert_id)
    # An alert whose cohort is gone is admins' only.
    if alert is None or not (scope.is_admin or (alert.cohort_id is not None and scope.sees(alert.cohort_id))):
        raise NotFound("alert not found")
    audit.record(session, staff_id=scope.staff_id, action="read", entity="alert", entity_id=alert.id,
                 cohort_id=alert.cohort_id, now=now)
    return alert


# A stored questionnaire version never changes (core.catalog.questionnaires): its rules'
# reasons are read from its document once per process, keyed with the document's hash.
_rule_reasons: dict[tuple[str, int, str], dict[str, dict[str, str]]] = {}


async def _reasons_of(session: AsyncSession, key: tuple[str, int], sha: str | None) -> dict[str, dict[str, str]]:
    if sha is None:
        sha = await session.scalar(select(Questionnaire.sha256).where(Questionnaire.id == key[0],
                                                                       Questionnaire.version == key[1]))
    if sha is None:
        return {}
    cached = _rule_reasons.get((*key, sha))
    if cached is None:
        row = await session.get(Questionnaire, key)
        cached = {rule.id: dict(rule.reasons) for rule in questionnaire_file(row).rules} if row else {}
        _rule_reasons[(*key, sha)] = cached
    return cached


async def alert_rows(session: AsyncSession, *, alerts: Sequence[Alert | Row[Any]], locale: str) -> list[dict[str, Any]]:
    """Each alert (an Alert, or a row of list_alerts: ALERT_COLUMNS and questionnaire_sha256) as
    the values of AlertRead's fields, with its rule's reason in the reader's language, from the
    version that fired it. Plain values of the fields' types: the API dumps a list of them as
    JSON without building models (api.responses)."""
    reasons: dict[tuple[str | None, int | None], dict[str, dict[str, str]]] = {}
    for a in alerts:
        key = (a.questionnaire_id, a.questionnaire_version)
        if key in reasons or a.questionnaire_id in (None, LEXICON_SOURCE) or a.questionnaire_version is None:
            continue
        reasons[key] = await _reasons_of(session, (a.questionnaire_id, a.questionnaire_version),
                                         getattr(a, "questionnaire_sha256", None))
    families = await family_labels(session, household_ids=[a.household_id for a in alerts])
    out = []
    for a in alerts:
        values = dict(zip(a._fields, a)) if isinstance(a, Row) else {c.key: getattr(a, c.key) for c in ALERT_COLUMNS}
        values["source"] = values.pop("questionnaire_id")
        values["source_version"] = values.pop("questionnaire_version")
        values["rule_reason"] = reasons.get((values["source"], values["source_version"]), {}).get(
            values["rule_id"], {}).get(locale)
        values["family"] = families.get(values["household_id"] or 0)
        out.append(values)
    return out


async def alert_reads(session: AsyncSession, *, alerts: Sequence[Alert | Row[Any]], locale: str) -> list[AlertRead]:
    """alert_rows as AlertRead models."""
    return [AlertRead(**values) for values in await alert_rows(session, alerts=alerts, locale=locale)]


async def case_rows(session: AsyncSession, *, cases: Sequence[Row[Any]]) -> list[dict[str, Any]]:
    """Rows of list_cases (CASE_COLUMNS) as the values of CaseRead's fields, with the family's
    label: plain values the API dumps as JSON without building models (api.responses)."""
    families = await family_labels(session, household_ids=[c.household_id for c in cases])
    out = []
    for c in cases:
        values = dict(zip(c._fields, c))
        values["family"] = families.get(values["household_id"] or 0)
        out.append(values)
    return out


async def case_reads(session: AsyncSession, *, cases: Sequence[Case | Row[Any]]) -> list[CaseRead]:
    families = await family_labels(session, household_ids=[c.household_id for c in cases])
    return [CaseRead.model_validate(c).model_copy(update={"family": families.get(c.household_id or 0)})
            if isinstance(c, Case) else CaseRead(**c._asdict(), family=families.get(c.household_id or 0))
            for c in cases]


async def list_cases(
    session: AsyncSession,
    *,
    scope: Scope,
    now: datetime,
    cohort_id: int | None = None,
    status: str | None = None,
    child_id: int | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Row[Any]]:
    """Open cases first, then the most recently opened; every status unless `status` says."""
    query = select(*CASE_COLUMNS)
    if cohort_id is not None:
        await _require_cohort(session, scope, cohort_id)
        query = query.where(Case.cohort_id == cohort_id)
    elif scope.cohort_ids is not None:
        query = query.where(Case.cohort_id.in_(scope.cohort_ids))
    if status is not None:
        query = query.where(Case.status == status)
    if child_id is not None:
        query = query.where(Case.child_id == child_id)
    open_first = case((Case.status == "open", 0), else_=1)
    rows = list((await session.execute(
        query.order_by(open_first, Case.opened_at.desc(), Case.id.desc()).limit(limit).offset(offset)
    )).all())
    audit.record(session, staff_id=scope.staff_id, action="read", entity="case", cohort_id=cohort_id, now=now,
                 ids=[c.id for c in rows])
    return rows


async def case_detail(session: AsyncSession, *, scope: Scope, case_id: int, locale: str,
                      now: datetime) -> CaseDetail:
    """The case, its alerts and its events in order; the read is audited by case_history."""
    history = await queries.case_history(session, scope=scope, case_id=case_id, now=now)
    return CaseDetail(
        case=CaseRead.model_validate(history.case).model_copy(update={"family": history.family}),
        nickname=history.nickname, age=history.age,
        responsible_name=history.responsible,
        alerts=await alert_reads(session, alerts=history.alerts, locale=locale),
        events=[CaseEventRead.of(event, staff_name=name) for event, name in history.events],
    )
