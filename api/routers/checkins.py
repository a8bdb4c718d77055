"""Check-in history: a child's check-ins (and a guardian's own WHO-5 ones) with answers, scores,
the closing note and the alerts raised; scoped and audited by the core service."""
from __future__ import annotations

from typing import Annotated

from dataclasses import asdict

from fastapi import APIRouter, Query, Response, status

from api.deps import IdPath, Now, ReaderLocale, ScopeDep, SessionDep
from core.checkin import adhoc, history
from core.checkin.schemas import CheckinRecordRead, SendNowCreate, SendNowRead
from core.content.questionnaires import ID_PATTERN

router = APIRouter(tags=["check-ins"])

QuestionnaireFilter = Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get("/children/{child_id}/checkins", response_model=list[CheckinRecordRead])
async def child_checkins(
    child_id: IdPath, session: SessionDep, scope: ScopeDep, locale: ReaderLocale, now: Now,
    questionnaire_id: QuestionnaireFilter = None, limit: Limit = 50, offset: Offset = 0,
) -> list[CheckinRecordRead]:
    """Newest first, in the reader's language."""
    return await history.child_checkins(
        session, scope=scope, child_id=child_id, locale=locale, now=now, questionnaire_id=questionnaire_id,
        limit=limit, offset=offset,
    )


@router.get("/guardians/{guardian_id}/checkins", response_model=list[CheckinRecordRead])
async def guardian_checkins(
    guardian_id: IdPath, session: SessionDep, scope: ScopeDep, locale: ReaderLocale, now: Now,
    questionnaire_id: QuestionnaireFilter = None, limit: Limit = 50, offset: Offset = 0,
) -> list[CheckinRecordRead]:
    """Check-ins about the guardian themself (WHO-5), newest first."""
    return await history.guardian_checkins(
        session, scope=scope, guardian_id=guardian_id, locale=locale, now=now,
        questionnaire_id=questionnaire_id, limit=limit, offset=offset,
    )


# ---------------------------------------------------------------- send a check-in now


async def _send_now(target: adhoc.Target, target_id: int, body: SendNowCreate, session: SessionDep, scope: ScopeDep,
                    now: Now, response: Response) -> SendNowRead:
    result = await adhoc.send_checkin_now(session, scope=scope, target=target, target_id=target_id,
                                          reason=body.reason, questionnaire_id=body.questionnaire_id, now=now)
    if result.already_sent:
        response.status_code = status.HTTP_200_OK
    return SendNowRead(**asdict(result))


_SEND_NOW = dict(response_model=SendNowRead, status_code=status.HTTP_201_CREATED,
                 responses={200: {"model": SendNowRead, "description": "already sent to this target today"}})


@router.post("/households/{household_id}/checkins/send-now", **_SEND_NOW)  # type: ignore[arg-type]
async def send_now_to_household(household_id: IdPath, body: SendNowCreate, session: SessionDep, scope: ScopeDep,
                                now: Now, response: Response) -> SendNowRead:
    """The check-in now for every child of one household (the same rules as the calendar's:
    the guardians living with the child are asked; one per child per cycle)."""
    return await _send_now("household", household_id, body, session, scope, now, response)


@router.post("/children/{child_id}/checkins/send-now", **_SEND_NOW)  # type: ignore[arg-type]
async def send_now_to_child(child_id: IdPath, body: SendNowCreate, session: SessionDep, scope: ScopeDep, now: Now,
                            response: Response) -> SendNowRead:
    """The check-in now about one child."""
    return await _send_now("child", child_id, body, session, scope, now, response)


@router.post("/cohorts/{cohort_id}/checkins/send-now", **_SEND_NOW)  # type: ignore[arg-type]
async def send_now_to_cohort(cohort_id: IdPath, body: SendNowCreate, session: SessionDep, scope: ScopeDep, now: Now,
                             response: Response) -> SendNowRead:
    """The check-in now for every child of the cohort (children with it open already are skipped)."""
    return await _send_now("cohort", cohort_id, body, session, scope, now, response)
