"""Staff reading alerts: filtered, most severe first, scoped to the reader's cohorts (others' are
not found) and audited, since alerts are personal data about children."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import case, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.access import Scope
from core.alerts.raising import ALERT_ACKNOWLEDGED, ALERT_OPEN, LEXICON_SOURCE
from core.alerts.schemas import AlertRead
from core.checkin.service import questionnaire_file
from core.content.questionnaires import SEVERITY_RANK
from core.errors import NotFound
from core.models import Alert, Cohort, Questionnaire

UNRESOLVED = (ALERT_OPEN, ALERT_ACKNOWLEDGED)
_rank = case(SEVERITY_RANK, value=Alert.severity, else_=0)


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
    limit: int = 50,
    offset: int = 0,
) -> list[Alert]:
    """Unresolved alerts unless `statuses` says otherwise; `since` is when they were opened."""
    query = select(Alert)
    if cohort_id is not None:
        if not scope.sees(cohort_id) or await session.get(Cohort, cohort_id) is None:
            raise NotFound("cohort not found", field="cohort_id")
        query = query.where(Alert.cohort_id == cohort_id)
    elif scope.cohort_ids is not None:
        query = query.where(Alert.cohort_id.in_(scope.cohort_ids))
    query = query.where(Alert.status.in_(statuses or UNRESOLVED))
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
    rows = list((await session.scalars(
        query.order_by(_rank.desc(), Alert.created_at.desc(), Alert.id.desc()).limit(limit).offset(offset)
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


async def alert_reads(session: AsyncSession, *, alerts: list[Alert], locale: str) -> list[AlertRead]:
    """Each alert with its rule's reason in the reader's language, from the version that fired it."""
    reasons: dict[tuple[str | None, int | None], dict[str, dict[str, str]]] = {}
    for a in alerts:
        key = (a.questionnaire_id, a.questionnaire_version)
        if key in reasons or a.questionnaire_id in (None, LEXICON_SOURCE):
            continue
        row = await session.get(Questionnaire, key)
        reasons[key] = {rule.id: dict(rule.reasons) for rule in questionnaire_file(row).rules} if row else {}
    return [AlertRead.of(a, rule_reason=reasons.get((a.questionnaire_id, a.questionnaire_version), {})
                         .get(a.rule_id, {}).get(locale))
            for a in alerts]
