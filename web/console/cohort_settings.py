"""A cohort's settings page: lesson days and time and the check-in calendar (admins, and the
cohort's directors within the programme's safety floor), and the cohort itself — name, time
zone, language, inbox digest time (admins). Through the same core services as PATCH
/api/v1/cohorts/{id} and PUT …/checkin-schedule, so the rules, the floor and the audit rows are
the API's. A bad value re-shows the form with the problem next to its field."""
from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response
from pydantic import ValidationError

from core.cohorts import service
from core.cohorts.floor import BeyondSafetyFloor
from core.config import SUPPORTED_LOCALES
from core.cohorts.schemas import CheckinScheduleEntry, CohortUpdate, LessonSchedule
from core.checkin.authoring import latest_questionnaires
from core.delivery.schedule import DAY_NAMES
from core.errors import Forbidden, InvalidFields
from web.console.common import back, render
from web.console.deps import DB, Form, IdPath, Reader

router = APIRouter()

EVERY = ("week", "month", "quarter")


def _can_change(reader: Any, cohort_id: int) -> bool:
    try:
        reader.scope.require_change(cohort_id)
    except Forbidden:
        return False
    return True


async def _page(request: Request, reader: Any, session: Any, cohort_id: int, *, errors: dict[str, str] | None = None,
                values: dict[str, Any] | None = None, status_code: int = 200) -> Response:
    cohort = await service.get_cohort(session, scope=reader.scope, cohort_id=cohort_id)  # 404 outside the scope
    questionnaires = [q.id for q in await latest_questionnaires(session)]
    return render(request, "console/cohort_settings.html", reader=reader, status_code=status_code, cohort=cohort,
                  lessons=service.lesson_schedule(cohort, now=reader.now),
                  checkins=await service.checkin_schedule(session, cohort=cohort, now=reader.now),
                  schedule=cohort.checkin_schedule or {}, questionnaires=questionnaires, days=DAY_NAMES,
                  every=EVERY, locales=SUPPORTED_LOCALES, can_change=_can_change(reader, cohort_id),
                  errors=errors or {}, values=values or {}, done=request.query_params.get("done"))


@router.get("/cohorts/{cohort_id}/settings", response_class=HTMLResponse)
async def settings_page(request: Request, cohort_id: IdPath, reader: Reader, session: DB) -> Response:
    return await _page(request, reader, session, cohort_id)


def _field_of(exc: ValidationError, prefix: str = "") -> str:
    loc = exc.errors()[0].get("loc", ())
    return prefix + (str(loc[0]) if loc else "")


@router.post("/cohorts/{cohort_id}/lessons")
async def save_lessons(request: Request, cohort_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    days = [d for d in (await request.form()).getlist("day") if isinstance(d, str)]
    at = (form.get("time") or "").strip()
    values = {"days": days, "time": at}
    try:
        # No day ticked and no time: the cohort's lessons stop ({} as in the API).
        spec: dict[str, Any] = {} if not days and not at else LessonSchedule(days=days, time=at).model_dump()
    except ValidationError as exc:
        field = "lesson_days" if _field_of(exc) == "days" else "lesson_time"
        return await _page(request, reader, session, cohort_id, errors={field: field}, values=values, status_code=422)
    await service.update_cohort(session, scope=reader.scope, cohort_id=cohort_id,
                                data=CohortUpdate(lesson_schedule=spec), now=reader.now)
    return back(request, f"/cohorts/{cohort_id}/settings", done="lessons")


@router.post("/cohorts/{cohort_id}/checkins")
async def save_checkins(request: Request, cohort_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    """One row per questionnaire (q.<id>.every, .day, .week, .time, .expires); a row left on
    "not sent" is removed from the calendar."""
    schedule: dict[str, CheckinScheduleEntry] = {}
    errors: dict[str, str] = {}
    ids = sorted({k.split(".")[1] for k in form if k.startswith("q.") and k.count(".") == 2})
    for qid in ids:
        every = form.get(f"q.{qid}.every") or ""
        if not every:
            continue
        week = form.get(f"q.{qid}.week") or ""
        try:
            schedule[qid] = CheckinScheduleEntry(
                every=every, day=form.get(f"q.{qid}.day") or "", time=(form.get(f"q.{qid}.time") or "").strip(),
                week=int(week) if week.strip().isdigit() and every != "week" else None,
                expires_after_days=int(form.get(f"q.{qid}.expires") or 3))
        except (ValidationError, ValueError) as exc:
            field = _field_of(exc) if isinstance(exc, ValidationError) else "expires_after_days"
            errors[f"q.{qid}"] = field if field in ("time", "week", "expires_after_days", "day") else "entry"
    if not errors:
        try:
            await service.set_checkin_schedule(session, scope=reader.scope, cohort_id=cohort_id, schedule=schedule,
                                               now=reader.now)
            return back(request, f"/cohorts/{cohort_id}/settings", done="checkins")
        except BeyondSafetyFloor as exc:
            errors = {f"q.{f.split('.')[1]}" if f.count(".") else "checkins": "floor" for f, _ in exc.problems}
        except InvalidFields as exc:
            errors = {f"q.{f.split('.')[1]}" if f.count(".") else "checkins": "unknown" for f, _ in exc.problems}
    return await _page(request, reader, session, cohort_id, errors=errors, values=dict(form), status_code=422)


@router.post("/cohorts/{cohort_id}/edit")
async def save_cohort(request: Request, cohort_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    """Name, time zone (canonical IANA names only), language and inbox digest time: admins."""
    reader.require_admin()
    values = {k: (form.get(k) or "").strip() for k in ("name", "timezone", "default_locale", "inbox_digest")}
    try:
        data = CohortUpdate(**{k: v for k, v in values.items() if v or k == "name"})
    except ValidationError as exc:
        return await _page(request, reader, session, cohort_id, errors={_field_of(exc): _field_of(exc)},
                           values=values, status_code=422)
    await service.update_cohort(session, scope=reader.scope, cohort_id=cohort_id, data=data, now=reader.now)
    return back(request, f"/cohorts/{cohort_id}/settings", done="cohort")
