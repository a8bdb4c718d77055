"""Questionnaires: every staff member reads them; admins edit (a new version) and retire them.
New questionnaires come from content/ files, with their source and licence checked."""
from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Path

from api.deps import MAX_ID, ContentIdPath, Now, ScopeDep, SessionDep
from core.checkin import authoring
from core.checkin.schemas import QuestionnaireRead
from core.catalog.questionnaires import questionnaire_file
from core.models import Questionnaire

router = APIRouter(prefix="/questionnaires", tags=["questionnaires"])

QuestionnaireBody = Annotated[
    dict[str, Any],
    Body(description="A questionnaire file (content/questionnaires/<id>.yaml) as JSON, without `version`; "
                     "checked like `shouwang content check`, every problem reported with its field"),
]


def _read(row: Questionnaire) -> QuestionnaireRead:
    return QuestionnaireRead.of(row, questionnaire_file(row))


@router.get("", response_model=list[QuestionnaireRead])
async def list_questionnaires(
    session: SessionDep, _scope: ScopeDep, include_retired: bool = False
) -> list[QuestionnaireRead]:
    """The latest version of each."""
    return [_read(r) for r in await authoring.latest_questionnaires(session, include_retired=include_retired)]


@router.get("/{questionnaire_id}", response_model=QuestionnaireRead)
async def read_questionnaire(
    questionnaire_id: ContentIdPath, session: SessionDep, _scope: ScopeDep
) -> QuestionnaireRead:
    return _read(await authoring.get_questionnaire_row(session, questionnaire_id=questionnaire_id))


@router.get("/{questionnaire_id}/versions/{version}", response_model=QuestionnaireRead)
async def read_questionnaire_version(
    questionnaire_id: ContentIdPath, version: Annotated[int, Path(ge=1, le=MAX_ID)], session: SessionDep,
    _scope: ScopeDep,
) -> QuestionnaireRead:
    return _read(await authoring.get_questionnaire_row(session, questionnaire_id=questionnaire_id, version=version))


@router.put("/{questionnaire_id}", response_model=QuestionnaireRead)
async def update_questionnaire(
    questionnaire_id: ContentIdPath, data: QuestionnaireBody, session: SessionDep, scope: ScopeDep, now: Now
) -> QuestionnaireRead:
    """A new version; a body identical to the latest version changes nothing."""
    scope.require_admin()
    row = await authoring.update_questionnaire(
        session, questionnaire_id=questionnaire_id, data=data, actor_id=scope.staff_id, now=now
    )
    return _read(row)


@router.post("/{questionnaire_id}/retire", response_model=QuestionnaireRead)
async def retire_questionnaire(
    questionnaire_id: ContentIdPath, session: SessionDep, scope: ScopeDep, now: Now
) -> QuestionnaireRead:
    scope.require_admin()
    return _read(await authoring.retire_questionnaire(
        session, questionnaire_id=questionnaire_id, actor_id=scope.staff_id, now=now
    ))
