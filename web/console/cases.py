"""Cases (一人一案): the list, and a page per case with its plan (the person responsible, the
measures taken — calls, visits, referrals — and the follow-up), its alerts and its timeline;
printable (site.css has a print stylesheet). Actions through core.alerts.cases."""
from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from core.alerts import cases as actions
from core.alerts import queries, service
from core.alerts.cases import CONTACT_METHODS, OUTCOMES, REFERRAL_TARGETS
from core.cohorts.service import list_cohorts
from core.errors import InvalidFields
from web.console.common import back, render
from web.console.deps import DB, Form, IdPath, Reader

router = APIRouter()


@router.get("/cases", response_class=HTMLResponse)
async def case_list(request: Request, reader: Reader, session: DB) -> Response:
    status = request.query_params.get("status")
    status = status if status in ("open", "closed") else None
    cohort_id = request.query_params.get("cohort_id")
    cohort = int(cohort_id) if cohort_id and cohort_id.isdigit() else None
    rows = await service.list_cases(session, scope=reader.scope, now=reader.now, cohort_id=cohort, status=status,
                                    limit=200)
    reads = await service.case_reads(session, cases=rows)
    cohorts = {c.id: c.name for c in await list_cohorts(session, scope=reader.scope)}
    return render(request, "console/cases.html", reader=reader, cases=reads, cohorts=cohorts, status=status,
                  cohort_id=cohort)


async def _case_page(request: Request, reader: Any, session: Any, case_id: int, *, status_code: int = 200,
                     errors: dict[str, str] | None = None, values: dict[str, str] | None = None) -> Response:
    history = await queries.case_history(session, scope=reader.scope, case_id=case_id, now=reader.now)
    measures = [(e, name) for e, name in history.events if e.kind in ("contact", "referral")]
    plan = await actions.list_measures(session, case_id=case_id)
    return render(request, "console/case.html", reader=reader, h=history, measures=measures, plan=plan,
                  errors=errors or {}, values=values or {}, status_code=status_code,
                  done=request.query_params.get("done"), methods=CONTACT_METHODS, targets=REFERRAL_TARGETS,
                  outcomes=OUTCOMES)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
async def case_page(request: Request, case_id: IdPath, reader: Reader, session: DB) -> Response:
    return await _case_page(request, reader, session, case_id)


@router.post("/cases/{case_id}/measures")
async def case_measure(request: Request, case_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    """A line of the plan: what will be done, the person responsible, by when (optional)."""
    values = {k: (form.get(k) or "").strip() for k in ("text", "responsible", "due_on")}
    errors: dict[str, str] = {}
    due = None
    if values["due_on"]:
        try:
            due = date.fromisoformat(values["due_on"])
        except ValueError:
            errors["due_on"] = "due_on"
    if not errors:
        try:
            await actions.add_measure(session, scope=reader.scope, case_id=case_id, text=values["text"],
                                      responsible=values["responsible"], due_on=due, now=reader.now)
            return back(request, f"/cases/{case_id}", done="measure")
        except InvalidFields as exc:
            errors = {field: field for field, _ in exc.problems}
    return await _case_page(request, reader, session, case_id, status_code=422, errors=errors, values=values)


def _note(form: dict[str, str]) -> str | None:
    return (form.get("note") or "").strip() or None


@router.post("/cases/{case_id}/note")
async def case_note(request: Request, case_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await actions.add_note(session, scope=reader.scope, case_id=case_id, text=form.get("note", ""), now=reader.now)
    return back(request, f"/cases/{case_id}", done="note")


@router.post("/cases/{case_id}/contact")
async def case_contact(request: Request, case_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await actions.log_contact(session, scope=reader.scope, method=form.get("method", ""), note=_note(form),
                              now=reader.now, case_id=case_id)
    return back(request, f"/cases/{case_id}", done="contact")


@router.post("/cases/{case_id}/refer")
async def case_refer(request: Request, case_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await actions.refer(session, scope=reader.scope, to=form.get("to", ""), note=_note(form), now=reader.now,
                        case_id=case_id)
    return back(request, f"/cases/{case_id}", done="referral")


@router.post("/cases/{case_id}/close")
async def case_close(request: Request, case_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await actions.close_case(session, scope=reader.scope, case_id=case_id, outcome=form.get("outcome", ""),
                             note=_note(form), now=reader.now)
    return back(request, f"/cases/{case_id}", done="closed")


@router.post("/cases/{case_id}/reopen")
async def case_reopen(request: Request, case_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await actions.reopen_case(session, scope=reader.scope, case_id=case_id, now=reader.now)
    return back(request, f"/cases/{case_id}", done="reopened")
