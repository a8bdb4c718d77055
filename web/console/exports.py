"""Exports for reporting upward: the ledger (台账), the funnel and the cases list as CSV (UTF-8
with a byte-order mark, which Excel needs to read Chinese from a CSV) and XLSX (openpyxl). Column
names in the reader's language — the county office's own terms in Chinese. Every export writes
an audit row (action "export")."""
from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Font

from core import audit
from core.alerts import service
from core.cohorts.service import get_cohort, list_cohorts
from core.errors import Invalid
from core.ledger.rows import ledger
from web.console.common import local_date, page_locale
from web.console.deps import DB, Reader
from web.console.reports import county_funnel

router = APIRouter()
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _file(name: str, fmt: str, headers: Sequence[str], rows: Sequence[Sequence[Any]], sheet: str) -> Response:
    if fmt == "csv":
        buffer = io.StringIO()
        writer = csv.writer(buffer)
        writer.writerow(headers)
        writer.writerows(["" if v is None else v for v in row] for row in rows)
        body = buffer.getvalue().encode("utf-8-sig")
        media = "text/csv; charset=utf-8"
    elif fmt == "xlsx":
        book = Workbook()
        ws = book.active
        ws.title = sheet[:31]
        ws.append(list(headers))
        for cell in ws[1]:
            cell.font = Font(bold=True)
        for row in rows:
            ws.append(list(row))
        for column in ws.columns:
            width = max(len(str(c.value or "")) for c in column)
            ws.column_dimensions[column[0].column_letter].width = min(40, max(8, width * 2))
        ws.freeze_panes = "A2"
        out = io.BytesIO()
        book.save(out)
        body, media = out.getvalue(), XLSX
    else:
        raise Invalid("the file type must be csv or xlsx", field="format", code="bad_format")
    filename = f"{name}.{fmt}"
    return Response(body, media_type=media, headers={
        "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}",
        "Cache-Control": "no-store"})


def _gettext(request: Request, reader) -> Any:  # type: ignore[no-untyped-def]
    return request.app.state.pages.gettext(page_locale(request, reader))


@router.get("/exports/ledger.{fmt}")
async def export_ledger(request: Request, fmt: str, reader: Reader, session: DB) -> Response:
    raw = request.query_params.get("cohort_id") or ""
    if not raw.isdigit():
        raise Invalid("choose a village or group (cohort_id)", field="cohort_id", code="bad_cohort")
    cohort = await get_cohort(session, scope=reader.scope, cohort_id=int(raw))
    rows = await ledger(session, scope=reader.scope, cohort_id=cohort.id, now=reader.now)
    _ = _gettext(request, reader)
    yes, no = _("Yes"), _("No")
    channel_names = {"telegram": "Telegram", "sms": _("SMS"), "web": _("Web page"), "wechat": _("WeChat")}
    bands = {"red": _("Red"), "orange": _("Orange"), "yellow": _("Yellow"), "ok": _("Within range")}
    headers = [_("Village or group"), _("Household no."), _("Whom to call"), _("Village group"), _("Child"),
               _("Age"), _("Last check-in"), _("Result"), _("Open case"), _("Last call or visit"), _("Reachable"),
               _("Channel")]
    zone = cohort.timezone
    table = [[cohort.name, r.household_id, r.family, r.village, r.nickname, r.age,
              local_date(r.last_checkin, zone) if r.last_checkin else None, bands.get(r.band or "", None),
              "、".join(f"#{c}" for c in r.open_cases) or no,
              local_date(r.last_contact, zone) if r.last_contact else None, yes if r.reachable else no,
              "、".join(channel_names.get(c, c) for c in r.channels)] for r in rows]
    audit.record(session, staff_id=reader.staff.id, action="export", entity="ledger", cohort_id=cohort.id,
                 now=reader.now, format=fmt, rows=len(table))
    return _file(f"ledger-{cohort.id}-{reader.now:%Y%m%d}", fmt, headers, table, _("Ledger"))


FUNNEL_COLUMNS = ("checkins_sent", "checkins_completed", "checkins_expired", "checkins_flagged", "red", "orange",
                  "yellow", "acknowledged", "referred", "resolved", "escalated", "median_minutes_to_acknowledge",
                  "p90_minutes_to_acknowledge")


def funnel_values(report: Any) -> list[Any]:
    """One funnel (a cohort's or the total) as a row, in FUNNEL_COLUMNS order."""
    return [report.flagged.model_dump()[c] if c in ("red", "orange", "yellow") else getattr(report, c)
            for c in FUNNEL_COLUMNS]


@router.get("/exports/funnel.{fmt}")
async def export_funnel(request: Request, fmt: str, reader: Reader, session: DB) -> Response:
    total = await county_funnel(request, session, reader.scope, reader.now)
    names = {c.id: c.name for c in await list_cohorts(session, scope=reader.scope)}
    _ = _gettext(request, reader)
    headers = [_("Village or group"), _("From"), _("To"), _("Check-ins sent"), _("Answered"),
               _("Not answered in time"), _("Answers that raised an alert"), _("Red"), _("Orange"), _("Yellow"),
               _("Acknowledged"), _("Referred"), _("Resolved"), _("Escalated"), _("Minutes to acknowledge (median)"),
               _("Minutes to acknowledge (90 in 100)")]
    period = [total.from_.isoformat(), total.to.isoformat()]
    table = [[names.get(r.cohort_id, f"#{r.cohort_id}"), *period, *funnel_values(r)] for r in total.cohorts]
    table.append([_("Total"), *period, *funnel_values(total)])
    audit.record(session, staff_id=reader.staff.id, action="export", entity="funnel", now=reader.now, format=fmt,
                 cohort_ids=total.cohort_ids)
    return _file(f"funnel-{total.from_}-{total.to}", fmt, headers, table, _("Screening funnel"))


@router.get("/exports/cases.{fmt}")
async def export_cases(request: Request, fmt: str, reader: Reader, session: DB) -> Response:
    rows = await service.list_cases(session, scope=reader.scope, now=reader.now, limit=100_000)
    reads = await service.case_reads(session, cases=rows)
    names = {c.id: c.name for c in await list_cohorts(session, scope=reader.scope)}
    _ = _gettext(request, reader)
    states = {"open": _("Open"), "closed": _("Closed")}
    outcomes = {"safe_now": _("The child is safe now"), "family_supported": _("The family is supported"),
                "referred": _("Referred onward"), "family_left": _("The family left"),
                "false_alarm": _("False alarm"), "other": _("Other")}
    headers = [_("Case no."), _("Village or group"), _("Household no."), _("Whom to call"), _("State"),
               _("Outcome"), _("Opened"), _("Closed"), _("Follow-up")]
    table = [[c.id, names.get(c.cohort_id or 0), c.household_id, c.family, states.get(c.status, c.status),
              outcomes.get(c.outcome or ""), local_date(c.opened_at), local_date(c.closed_at) if c.closed_at else None,
              local_date(c.followup_due_at) if c.followup_due_at else None] for c in reads]
    audit.record(session, staff_id=reader.staff.id, action="export", entity="cases", now=reader.now, format=fmt,
                 rows=len(table))
    return _file(f"cases-{reader.now:%Y%m%d}", fmt, headers, table, _("Cases"))
