"""Check-in history: a child's check-ins (and a guardian's own WHO-5 ones) with answers, scores,
the closing note and the alerts raised; scoped and audited by the core service."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from api.deps import CurrentStaff, IdPath, Now, ScopeDep, SessionDep
from core.checkin import history
from core.checkin.schemas import CheckinRecordRead
from core.content.questionnaires import ID_PATTERN

router = APIRouter(tags=["check-ins"])

QuestionnaireFilter = Annotated[str | None, Query(pattern=ID_PATTERN, max_length=64)]
Limit = Annotated[int, Query(ge=1, le=200)]
Offset = Annotated[int, Query(ge=0, le=1_000_000)]


@router.get("/children/{child_id}/checkins", response_model=list[CheckinRecordRead])
async def child_checkins(
    child_id: IdPath, session: SessionDep, scope: ScopeDep, staff: CurrentStaff, now: Now,
    questionnaire_id: QuestionnaireFilter = None, limit: Limit = 50, offset: Offset = 0,
) -> list[CheckinRecordRead]:
    """Newest first, in the reader's language."""
    return await history.child_checkins(
        session, scope=scope, child_id=child_id, locale=staff.locale, now=now, questionnaire_id=questionnaire_id,
        limit=limit, offset=offset,
    )


@router.get("/guardians/{guardian_id}/checkins", response_model=list[CheckinRecordRead])
async def guardian_checkins(
    guardian_id: IdPath, session: SessionDep, scope: ScopeDep, staff: CurrentStaff, now: Now,
    questionnaire_id: QuestionnaireFilter = None, limit: Limit = 50, offset: Offset = 0,
) -> list[CheckinRecordRead]:
    """Check-ins about the guardian themself (WHO-5), newest first."""
    return await history.guardian_checkins(
        session, scope=scope, guardian_id=guardian_id, locale=staff.locale, now=now,
        questionnaire_id=questionnaire_id, limit=limit, offset=offset,
    )
