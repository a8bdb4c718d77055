"""The screening funnel of one cohort over a period — screened → flagged → helped — for
supervisors and county staff. Counts only: no names, no answers, no ids of people.

The period is whole local days `from`..`to` (both inclusive) in the cohort's time zone, i.e. the
instants [from 00:00, to + 1 day 00:00) there. Two groups are counted, each by when it began,
and each as it stands now (a check-in of the period completed the day after still counts as
completed; an alert acknowledged next month still counts as acknowledged):

- **check-ins of the period**: check-ins of the cohort created in it (follow-up check-ins too)
  whose first message ("checkin" delivery) reached at least one guardian (state sent; recorded
  on the check-in as `sent_at`, which stays when that guardian later erases their data).
  `checkins_sent` counts them; `checkins_completed` and `checkins_expired` those of them that
  are completed or expired now; `checkins_flagged` the completed ones that fired at least one
  alert (named in an alert's evidence, or the check-in whose closing note raised a risk-word
  alert) — whether that alert was new or a repeat of one already open.
- **alerts of the period**: alerts of the cohort opened (created) in it, each once.
  `flagged` counts them by their current severity; `acknowledged` those acknowledged (resolving
  acknowledges too); `referred` those whose case has a referral event at or after the alert was
  opened; `resolved` those resolved; `escalated` those that went up the ladder at least once
  (escalation_level ≥ 1).
- **minutes to acknowledge**: acknowledged_at − created_at of the acknowledged alerts of the
  period; the median and the 90th percentile by the nearest-rank method (`nearest_rank`), so
  each is a time one alert really took; None when no alert of the period was acknowledged.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

from sqlalchemy import case, exists, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope
from core.alerts.raising import ALERT_RESOLVED
from core.alerts.schemas import FlaggedCounts, FunnelCounts, FunnelPeriod, FunnelReport, FunnelTotal
from core.checkin.service import COMPLETED, EXPIRED
from core.errors import Invalid, NotFound
from core.models import Alert, CaseEvent, CheckIn, Cohort

DEFAULT_DAYS = 30  # the last 30 days, today included
MAX_DAYS = 366
FIRED_CHUNK = 500  # check-in ids per IN list (SQLite caps bound parameters)


# ---------------------------------------------------------------- pure statistics


def nearest_rank(values: Sequence[float], percent: int) -> float | None:
    """The nearest-rank percentile: the value at rank ⌈percent/100 · N⌉ (1-based) of the sorted
    values — the smallest value with at least `percent`% of the values at or below it. Always
    one of the values (no interpolation); the median (50) of an even count is the lower middle
    value. None for no values."""
    if not 0 < percent <= 100:
        raise ValueError("percent must be in 1..100")
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, math.ceil(percent * len(ordered) / 100))  # integer percent: no float rounding
    return ordered[rank - 1]


def resolve_period(date_from: date | None, date_to: date | None, *, today: date) -> tuple[date, date]:
    """The period asked for: `to` defaults to today, `from` to 30 days up to `to`; `from` must
    not be after `to`, and the period is at most 366 days."""
    date_to = date_to or today
    date_from = date_from or date_to - timedelta(days=DEFAULT_DAYS - 1)
    if date_from > date_to:
        raise Invalid("must be on or before to", field="from")
    if (date_to - date_from).days + 1 > MAX_DAYS:
        raise Invalid(f"the period is at most {MAX_DAYS} days", field="from")
    return date_from, date_to


def period_bounds(date_from: date, date_to: date, zone: str) -> tuple[datetime, datetime]:
    """[start, end) in UTC of local days date_from..date_to (both inclusive) in `zone`."""
    tz = ZoneInfo(zone)
    start = datetime.combine(date_from, time(0), tzinfo=tz)
    end = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=tz)
    return start.astimezone(timezone.utc), end.astimezone(timezone.utc)


def minutes_between(start: datetime, end: datetime) -> float:
    return (end - start).total_seconds() / 60


def _rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 1)


# ---------------------------------------------------------------- the report


async def funnel(session: AsyncSession, *, scope: Scope, cohort_id: int, now: datetime,
                 date_from: date | None = None, date_to: date | None = None) -> FunnelReport:
    report, _waits = await _funnel(session, scope=scope, cohort_id=cohort_id, now=now, date_from=date_from,
                                   date_to=date_to)
    return report


async def funnel_total(session: AsyncSession, *, scope: Scope, cohort_ids: Sequence[int] | None, now: datetime,
                       date_from: date | None = None, date_to: date | None = None) -> FunnelTotal:
    """The funnel summed over several cohorts (a supervisor's county: every cohort in scope when
    `cohort_ids` is None) for the same local days in each cohort's own time zone. Counts are the
    sums of the cohorts' funnels; the median and 90th percentile are taken over all their
    acknowledged alerts together (a median of medians would not be one)."""
    if cohort_ids is None:
        query = select(Cohort.id).order_by(Cohort.id)
        if scope.cohort_ids is not None:
            query = query.where(Cohort.id.in_(scope.cohort_ids))
        cohort_ids = list((await session.scalars(query)).all())
    cohort_ids = sorted(set(cohort_ids))
    for cohort_id in cohort_ids:
        if not scope.sees(cohort_id):
            raise NotFound("cohort not found", field="cohort_ids")
    if date_from is None or date_to is None:
        first = await session.get(Cohort, cohort_ids[0]) if cohort_ids else None
        zone = first.timezone if first is not None else "Asia/Shanghai"
        date_from, date_to = resolve_period(date_from, date_to, today=now.astimezone(ZoneInfo(zone)).date())
    reports: list[FunnelReport] = []
    waits: list[float] = []
    for cohort_id in cohort_ids:
        report, of_cohort = await _funnel(session, scope=scope, cohort_id=cohort_id, now=now, date_from=date_from,
                                          date_to=date_to)
        reports.append(report)
        waits.extend(of_cohort)
    # Every count of the funnel is summed; the times to acknowledge are taken over all the waits.
    counts = [name for name, field in FunnelCounts.model_fields.items() if field.annotation is int]
    return FunnelTotal(
        cohort_ids=cohort_ids, from_=date_from, to=date_to,
        **{f: sum(getattr(r, f) for r in reports) for f in counts},
        flagged=FlaggedCounts(**{s: sum(getattr(r.flagged, s) for r in reports) for s in ("red", "orange", "yellow")}),
        median_minutes_to_acknowledge=_rounded(nearest_rank(waits, 50)),
        p90_minutes_to_acknowledge=_rounded(nearest_rank(waits, 90)),
        cohorts=reports,
    )


async def _funnel(session: AsyncSession, *, scope: Scope, cohort_id: int, now: datetime,
                  date_from: date | None, date_to: date | None) -> tuple[FunnelReport, list[float]]:
    cohort = await session.get(Cohort, cohort_id)
    if cohort is None or not scope.sees(cohort_id):
        raise NotFound("cohort not found")
    date_from, date_to = resolve_period(date_from, date_to, today=now.astimezone(ZoneInfo(cohort.timezone)).date())
    start, end = period_bounds(date_from, date_to, cohort.timezone)

    # Check-ins of the period whose first message reached a guardian (sent_at, which the
    # database sets when such a delivery is sent), counted by the database from one covering
    # index (ix_check_ins_cohort_created): no row of deliveries is read.
    of_period = (CheckIn.cohort_id == cohort_id, CheckIn.created_at >= start, CheckIn.created_at < end,
                 CheckIn.sent_at.is_not(None))
    sent, completed, expired = (await session.execute(
        select(func.count(), func.count(case((CheckIn.state == COMPLETED, 1))),
               func.count(case((CheckIn.state == EXPIRED, 1))))
        .where(*of_period)
    )).one()

    # Which check-ins fired an alert: any alert seen since the period began may name one.
    fired: set[int] = set()
    for check_in_id, evidence in (await session.execute(
            select(Alert.check_in_id, Alert.evidence)
            .where(Alert.cohort_id == cohort_id, Alert.last_seen_at >= start))).all():
        fired.update(int(i) for i in (evidence or {}).get("check_in_ids", []))
        if check_in_id is not None:
            fired.add(check_in_id)
    # Of those, the completed check-ins of the period: looked up by primary key alone (with the
    # period's conditions in the same WHERE, PostgreSQL scans the period and tests every row
    # against the whole id list instead), and filtered here.
    flagged_checkins = 0
    ordered = sorted(fired)
    for at in range(0, len(ordered), FIRED_CHUNK):
        for of_cohort, created_at, state, sent_at in (await session.execute(
                select(CheckIn.cohort_id, CheckIn.created_at, CheckIn.state, CheckIn.sent_at)
                .where(CheckIn.id.in_(ordered[at:at + FIRED_CHUNK])))).all():
            flagged_checkins += (of_cohort == cohort_id and start <= created_at < end and sent_at is not None
                                 and state == COMPLETED)

    referred = exists().where(CaseEvent.case_id == Alert.case_id, CaseEvent.kind == "referral",
                              CaseEvent.at >= Alert.created_at)
    alerts = (await session.execute(
        select(Alert.severity, Alert.status, Alert.created_at, Alert.acknowledged_at, Alert.escalation_level,
               referred.label("referred"))
        .where(Alert.cohort_id == cohort_id, Alert.created_at >= start, Alert.created_at < end)
    )).all()
    flagged = {"red": 0, "orange": 0, "yellow": 0}
    for row in alerts:
        flagged[row.severity] = flagged.get(row.severity, 0) + 1
    waits = [minutes_between(row.created_at, row.acknowledged_at) for row in alerts
             if row.acknowledged_at is not None]
    return FunnelReport(
        cohort_id=cohort_id,
        period=FunnelPeriod(from_=date_from, to=date_to, timezone=cohort.timezone),
        checkins_sent=sent,
        checkins_completed=completed,
        checkins_expired=expired,
        checkins_flagged=flagged_checkins,
        flagged=FlaggedCounts(**flagged),
        acknowledged=len(waits),
        referred=sum(1 for row in alerts if row.referred),
        resolved=sum(1 for row in alerts if row.status == ALERT_RESOLVED),
        escalated=sum(1 for row in alerts if row.escalation_level >= 1),
        median_minutes_to_acknowledge=_rounded(nearest_rank(waits, 50)),
        p90_minutes_to_acknowledge=_rounded(nearest_rank(waits, 90)),
    ), waits
