"""Cases (一人一案): list, read with alerts and events, and act on them — a note, a call or home
visit (also the monthly visit to a household with no case), a referral, close, reopen. Scoped
(another cohort's case or household is not found), recorded as case events and audited by the
core services; directors and supervisors of the cohort, and admins, may act."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Header, Query, Response, status
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession

from api.deps import MAX_ID, CurrentStaff, IdPath, Now, ScopeDep, SessionDep
from api.responses import json_list
from core import idempotency
from core.access import Scope
from core.alerts import cases, service
from core.flows import cases as case_flows
from core.alerts.schemas import (
    CaseClose, CaseClosed, CaseDetail, CaseEventRead, CaseRead, ContactCreate, NoteCreate, ReferralCreate,
)
from core.errors import NotFound
from core.models import CaseEvent, Staff

router = APIRouter(tags=["cases"])

OptionalId = Annotated[int | None, Query(ge=1, le=MAX_ID)]
IdempotencyKeyHeader = Annotated[str | None, Header(
    alias="Idempotency-Key", pattern=idempotency.KEY_PATTERN,
    description="optional; the same key again (within 24 h) returns the first result instead of adding "
                "another entry — e.g. a UUID per note the client means to add",
)]


async def _once(
    session: AsyncSession, *, scope: Scope, staff: Staff, response: Response, key: str | None, action: str,
    target: int, data: BaseModel, now: datetime, create: Callable[[], Awaitable[CaseEvent]],
) -> CaseEventRead:
    """Create once per Idempotency-Key: a repeat replays the first event (header
    Idempotent-Replayed: true)."""
    if key is None:
        return CaseEventRead.of(await create(), staff_name=staff.display_name)
    digest = idempotency.fingerprint(action=action, target=target, body=data.model_dump(mode="json"))
    first = await idempotency.replayed(session, staff_id=staff.id, key=key, action=action, fingerprint=digest,
                                       now=now)
    if first is not None:
        event = await session.get(CaseEvent, first)
        if event is None or (event.cohort_id is not None and not scope.sees(event.cohort_id)):
            raise NotFound("the entry this Idempotency-Key created is gone")
        response.headers["Idempotent-Replayed"] = "true"
        return CaseEventRead.of(event, staff_name=staff.display_name)
    event = await create()
    await session.flush()
    idempotency.remember(session, staff_id=staff.id, key=key, action=action, fingerprint=digest,
                         entity_id=event.id, now=now)
    return CaseEventRead.of(event, staff_name=staff.display_name)


@router.get("/cases", response_model=list[CaseRead])
async def list_cases(
    session: SessionDep,
    scope: ScopeDep,
    now: Now,
    cohort_id: OptionalId = None,
    status: Literal["open", "closed"] | None = None,
    child_id: OptionalId = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
) -> Response:
    """Open cases first, then the most recently opened; every status unless filtered."""
    rows = await service.list_cases(session, scope=scope, now=now, cohort_id=cohort_id, status=status,
                                    child_id=child_id, limit=limit, offset=offset)
    return json_list(CaseRead, await service.case_rows(session, cases=rows))


@router.get("/cases/{case_id}", response_model=CaseDetail)
async def read_case(case_id: IdPath, session: SessionDep, scope: ScopeDep, staff: CurrentStaff,
                    now: Now) -> CaseDetail:
    return await service.case_detail(session, scope=scope, case_id=case_id, locale=staff.locale, now=now)


@router.post("/cases/{case_id}/notes", response_model=CaseEventRead, status_code=status.HTTP_201_CREATED)
async def add_note(case_id: IdPath, data: NoteCreate, session: SessionDep, scope: ScopeDep, staff: CurrentStaff,
                   now: Now, response: Response, idempotency_key: IdempotencyKeyHeader = None) -> CaseEventRead:
    return await _once(session, scope=scope, staff=staff, response=response, key=idempotency_key,
                       action="case_note", target=case_id, data=data, now=now,
                       create=lambda: cases.add_note(session, scope=scope, case_id=case_id, text=data.text, now=now))


@router.post("/cases/{case_id}/contacts", response_model=CaseEventRead, status_code=status.HTTP_201_CREATED)
async def log_case_contact(case_id: IdPath, data: ContactCreate, session: SessionDep, scope: ScopeDep,
                           staff: CurrentStaff, now: Now, response: Response,
                           idempotency_key: IdempotencyKeyHeader = None) -> CaseEventRead:
    return await _once(session, scope=scope, staff=staff, response=response, key=idempotency_key,
                       action="case_contact", target=case_id, data=data, now=now,
                       create=lambda: cases.log_contact(session, scope=scope, method=data.method, note=data.note,
                                                        now=now, case_id=case_id))


@router.post("/households/{household_id}/contacts", response_model=CaseEventRead,
             status_code=status.HTTP_201_CREATED)
async def log_household_contact(household_id: IdPath, data: ContactCreate, session: SessionDep, scope: ScopeDep,
                                staff: CurrentStaff, now: Now, response: Response,
                                idempotency_key: IdempotencyKeyHeader = None) -> CaseEventRead:
    """A call or visit to a household with no case (the monthly visit, 月巡访): an event with no case."""
    return await _once(session, scope=scope, staff=staff, response=response, key=idempotency_key,
                       action="household_contact", target=household_id, data=data, now=now,
                       create=lambda: cases.log_contact(session, scope=scope, method=data.method, note=data.note,
                                                        now=now, household_id=household_id))


@router.post("/cases/{case_id}/referrals", response_model=CaseEventRead, status_code=status.HTTP_201_CREATED)
async def refer(case_id: IdPath, data: ReferralCreate, session: SessionDep, scope: ScopeDep, staff: CurrentStaff,
                now: Now, response: Response, idempotency_key: IdempotencyKeyHeader = None) -> CaseEventRead:
    """A closed case is 409: reopen it first."""
    return await _once(session, scope=scope, staff=staff, response=response, key=idempotency_key,
                       action="case_referral", target=case_id, data=data, now=now,
                       create=lambda: cases.refer(session, scope=scope, to=data.to, note=data.note, now=now,
                                                  case_id=case_id))


@router.post("/cases/{case_id}/close", response_model=CaseClosed)
async def close_case(case_id: IdPath, data: CaseClose, session: SessionDep, scope: ScopeDep,
                     now: Now) -> CaseClosed:
    """Its unresolved alerts are resolved with the same outcome; the follow-up check-in is scheduled
    (none when the family left)."""
    result = await case_flows.close_case(session, scope=scope, case_id=case_id, outcome=data.outcome, note=data.note,
                                         now=now)
    assert result.case is not None
    return CaseClosed(case=CaseRead.model_validate(result.case), followup_check_in_ids=[c.id for c in result.followups])


@router.post("/cases/{case_id}/reopen", response_model=CaseRead)
async def reopen_case(case_id: IdPath, session: SessionDep, scope: ScopeDep, now: Now) -> CaseRead:
    """409 when it is open, or when another case is open for the same child."""
    return CaseRead.model_validate(await cases.reopen_case(session, scope=scope, case_id=case_id, now=now))
