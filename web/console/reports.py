"""Reports: the screening funnel per cohort and summed over the cohorts in scope (a county), by
period, with the time to acknowledge and the escalations; check-in completion by week; lesson
reach and feedback. Each a table and an SVG chart. The numbers come from the same core
functions as the API (core.reports.funnel_total → GET /api/v1/reports/funnel;
core.delivery.stats.delivery_stats → GET /api/v1/cohorts/{id}/deliveries/stats)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope
from core.reports import funnel_total
from core.alerts.schemas import FunnelTotal
from core.cohorts.service import list_cohorts
from core.delivery.stats import delivery_stats
from core.errors import Invalid, NotFound
from core.messages import MessageKind
from web.console import charts
from web.console.common import page_locale, render
from web.console.deps import DB, Reader

router = APIRouter()
MAX_WEEKS = 26


def day_param(request: Request, name: str) -> date | None:
    value = (request.query_params.get(name) or "").strip()
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise Invalid("must be a date like 2026-11-30", field=name, code="bad_date") from None


def cohort_params(request: Request) -> list[int] | None:
    values = [v for v in request.query_params.getlist("cohort_id") if v]
    if not values:
        return None
    if not all(v.isdigit() and 0 < int(v) < 2**31 for v in values):
        raise Invalid("must be a cohort number", field="cohort_id", code="bad_cohort")
    return [int(v) for v in values]


async def county_funnel(request: Request, session: AsyncSession, scope: Scope, now: datetime) -> FunnelTotal:
    return await funnel_total(session, scope=scope, cohort_ids=cohort_params(request), now=now,
                              date_from=day_param(request, "from"), date_to=day_param(request, "to"))


@router.get("/reports", response_class=HTMLResponse)
async def funnel_page(request: Request, reader: Reader, session: DB) -> Response:
    total = await county_funnel(request, session, reader.scope, reader.now)
    names = {c.id: c.name for c in await list_cohorts(session, scope=reader.scope)}
    _ = request.app.state.pages.gettext(page_locale(request, reader))
    steps = [(_("Check-ins sent"), "checkins_sent"), (_("Answered"), "checkins_completed"),
             (_("Flagged"), "checkins_flagged"), (_("Acknowledged"), "acknowledged"),
             (_("Referred"), "referred"), (_("Resolved"), "resolved")]
    funnel_chart = charts.bars(_("Screened → flagged → helped"), [label for label, _f in steps],
                               [(_("All villages"), [getattr(total, f) for _l, f in steps])])
    labels = [names.get(r.cohort_id, f"#{r.cohort_id}") for r in total.cohorts]
    ack_chart = charts.bars(_("Minutes to acknowledge"), labels, [
        (_("Median"), [r.median_minutes_to_acknowledge for r in total.cohorts]),
        (_("90 in 100 within"), [r.p90_minutes_to_acknowledge for r in total.cohorts])])
    alerts_chart = charts.bars(_("Alerts by colour, and escalations"), labels, [
        (_("Red"), [r.flagged.red for r in total.cohorts]), (_("Orange"), [r.flagged.orange for r in total.cohorts]),
        (_("Yellow"), [r.flagged.yellow for r in total.cohorts]),
        (_("Escalated"), [r.escalated for r in total.cohorts])])
    return render(request, "console/report_funnel.html", reader=reader, total=total, names=names,
                  funnel_chart=funnel_chart, ack_chart=ack_chart, alerts_chart=alerts_chart,
                  query=request.url.query, chosen=cohort_params(request) or [])


@router.get("/reports/checkins", response_class=HTMLResponse)
async def weekly_page(request: Request, reader: Reader, session: DB) -> Response:
    """Check-in completion by week (Monday to Sunday): the funnel of each week, summed."""
    weeks_param = request.query_params.get("weeks") or "8"
    if not weeks_param.isdigit() or not 1 <= int(weeks_param) <= MAX_WEEKS:
        raise Invalid(f"must be a number of weeks from 1 to {MAX_WEEKS}", field="weeks", code="bad_weeks")
    today = reader.now.astimezone(ZoneInfo(request.app.state.settings.default_timezone)).date()
    monday = today - timedelta(days=today.weekday())
    rows = []
    for back_weeks in range(int(weeks_param) - 1, -1, -1):
        start = monday - timedelta(weeks=back_weeks)
        week = await funnel_total(session, scope=reader.scope, cohort_ids=cohort_params(request), now=reader.now,
                                  date_from=start, date_to=start + timedelta(days=6))
        rate = round(100 * week.checkins_completed / week.checkins_sent) if week.checkins_sent else None
        rows.append((start, week, rate))
    _ = request.app.state.pages.gettext(page_locale(request, reader))
    chart = charts.lines(_("Check-ins answered, in 100 sent"), [r[0].strftime("%m-%d") for r in rows],
                         [(_("Answered in 100"), [r[2] for r in rows])])
    return render(request, "console/report_checkins.html", reader=reader, rows=rows, chart=chart)


@router.get("/reports/lessons", response_class=HTMLResponse)
async def lessons_page(request: Request, reader: Reader, session: DB) -> Response:
    """Lesson reach and feedback over the period, per cohort and summed."""
    zone = ZoneInfo(request.app.state.settings.default_timezone)
    today = reader.now.astimezone(zone).date()
    date_to = day_param(request, "to") or today
    date_from = day_param(request, "from") or date_to - timedelta(days=29)
    if date_from > date_to:
        raise Invalid("must be on or before to", field="from", code="bad_period")
    since = datetime.combine(date_from, time(0), tzinfo=zone)
    until = datetime.combine(date_to + timedelta(days=1), time(0), tzinfo=zone)
    cohorts = await list_cohorts(session, scope=reader.scope)
    chosen = cohort_params(request)
    if chosen is not None and not set(chosen) <= {c.id for c in cohorts}:
        raise NotFound("cohort not found", field="cohort_id")
    stats = [(c, await delivery_stats(session, scope=reader.scope, cohort_id=c.id, since=since, until=until))
             for c in cohorts if chosen is None or c.id in chosen]
    _ = request.app.state.pages.gettext(page_locale(request, reader))
    labels = [c.name for c, _s in stats]
    chart = charts.bars(_("Lessons sent, and what families said"), labels, [
        (_("Lessons sent"), [s.deliveries.get(MessageKind.LESSON, {}).get("sent", 0) for _c, s in stats]),
        (_("Helpful: yes"), [s.feedback["helpful"].get("yes", 0) for _c, s in stats]),
        (_("Tried it: yes"), [s.feedback["tried"].get("yes", 0) for _c, s in stats])])
    return render(request, "console/report_lessons.html", reader=reader, stats=stats, chart=chart,
                  date_from=date_from, date_to=date_to)
