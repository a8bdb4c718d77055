"""The ledger (台账): households and children of a cohort as a filterable table, and a page per
household and per child with the timeline. Scoped like the API (another cohort: 404) and
audited by the core reads."""
from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from core import audit
from core.cohorts.service import get_cohort, list_cohorts
from core.people import age_in_years
from core.errors import NotFound
from core.households import service as households
from core.ledger.rows import ledger, matches
from core.ledger.timeline import timeline
from core.alerts import queries
from core.households.identity import family_label_of
from core.models import Child, Household
from web.console.common import page_locale, back, render
from web.console.deps import DB, IdPath, Reader

router = APIRouter()

FILTERS = ("q", "village", "band", "open_case", "reachable")
PAGE_SIZE = 200


@router.get("/households", response_class=HTMLResponse)
async def households_home(request: Request, reader: Reader, session: DB) -> Response:
    """The first cohort in scope; with several, a choice."""
    cohorts = await list_cohorts(session, scope=reader.scope)
    if len(cohorts) == 1:
        return back(request, f"/cohorts/{cohorts[0].id}/households")
    return render(request, "console/cohort_choice.html", reader=reader, cohorts=cohorts)


@router.get("/cohorts/{cohort_id}/households", response_class=HTMLResponse)
async def cohort_ledger(request: Request, cohort_id: IdPath, reader: Reader, session: DB) -> Response:
    cohort = await get_cohort(session, scope=reader.scope, cohort_id=cohort_id)
    rows = await ledger(session, scope=reader.scope, cohort_id=cohort_id, now=reader.now)
    chosen = {k: (request.query_params.get(k) or "").strip() or None for k in FILTERS}
    shown = [r for r in rows if matches(r, **chosen)]
    villages = sorted({r.village for r in rows if r.village})
    # A page of lines at a time: a county's village can have thousands (the export has them all).
    raw_page = request.query_params.get("page") or "1"
    pages = max(1, -(-len(shown) // PAGE_SIZE))
    page = min(int(raw_page), pages) if raw_page.isdigit() and int(raw_page) >= 1 else 1
    params = {k: v for k, v in chosen.items() if v}
    return render(request, "console/ledger.html", reader=reader, cohort=cohort, total=len(rows),
                  matching=len(shown), rows=shown[(page - 1) * PAGE_SIZE:page * PAGE_SIZE], page=page, pages=pages,
                  villages=villages, chosen=chosen, page_query=urlencode(params))


@router.get("/households/{household_id}", response_class=HTMLResponse)
async def household_page(request: Request, household_id: IdPath, reader: Reader, session: DB) -> Response:
    household = await households.get_household(session, scope=reader.scope, household_id=household_id,
                                               now=reader.now)
    cases = await queries.household_cases(session, scope=reader.scope, household_id=household.id)
    return render(request, "console/household.html", reader=reader, household=household,
                  family=await family_label_of(session, household_id=household.id),
                  today=reader.now.date(), age_in_years=age_in_years, cases=cases,
                  entries=await timeline(session, household_id=household.id, locale=page_locale(request, reader)))


@router.get("/children/{child_id}", response_class=HTMLResponse)
async def child_page(request: Request, child_id: IdPath, reader: Reader, session: DB) -> Response:
    child = await session.get(Child, child_id)
    household = await session.get(Household, child.household_id) if child else None
    if child is None or household is None or not reader.scope.sees(household.cohort_id):
        raise NotFound("child not found")
    audit.record(session, staff_id=reader.staff.id, action="read", entity="child", entity_id=child.id,
                 cohort_id=household.cohort_id, now=reader.now)
    return render(request, "console/child.html", reader=reader, child=child, household=household,
                  age=age_in_years(child.birth_year, child.birth_month, reader.now.date()),
                  entries=await timeline(session, household_id=household.id, child_id=child.id,
                                           locale=page_locale(request, reader)))
