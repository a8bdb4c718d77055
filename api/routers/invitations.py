"""Cohort invitations: the codes behind deep links and poster QR codes."""
from __future__ import annotations

from datetime import datetime
from typing import Literal

from fastapi import APIRouter, Response, status

from api.deps import IdPath, Now, ScopeDep, SessionDep, SettingsDep
from core.cohorts.service import get_cohort
from core.config import Settings
from core.enrolment import invitations as service
from core.enrolment.invitations import InvitationCreate, InvitationRead
from core.errors import Conflict
from core.models import Invitation

router = APIRouter(tags=["invitations"])


def _render(invitation: Invitation, *, settings: Settings, now: datetime) -> InvitationRead:
    return InvitationRead.model_validate(invitation).model_copy(
        update={
            "deep_link": settings.deep_link(invitation.code),
            "web_link": service.web_join_link(settings.public_base, invitation.code),
            "usable": service.invitation_problem(invitation, now) is None,
        }
    )


@router.post(
    "/cohorts/{cohort_id}/invitations", response_model=InvitationRead, status_code=status.HTTP_201_CREATED
)
async def create_invitation(
    cohort_id: IdPath, data: InvitationCreate, session: SessionDep, scope: ScopeDep, settings: SettingsDep, now: Now
) -> InvitationRead:
    await get_cohort(session, scope=scope, cohort_id=cohort_id)  # 404 before anything else
    invitation = await service.create_invitation(session, scope=scope, cohort_id=cohort_id, data=data, now=now)
    return _render(invitation, settings=settings, now=now)


@router.get("/cohorts/{cohort_id}/invitations", response_model=list[InvitationRead])
async def list_invitations(
    cohort_id: IdPath, session: SessionDep, scope: ScopeDep, settings: SettingsDep, now: Now
) -> list[InvitationRead]:
    await get_cohort(session, scope=scope, cohort_id=cohort_id)
    rows = await service.list_invitations(session, scope=scope, cohort_id=cohort_id)
    return [_render(i, settings=settings, now=now) for i in rows]


@router.get("/invitations/{invitation_id}", response_model=InvitationRead)
async def read_invitation(
    invitation_id: IdPath, session: SessionDep, scope: ScopeDep, settings: SettingsDep, now: Now
) -> InvitationRead:
    invitation = await service.get_invitation(session, scope=scope, invitation_id=invitation_id)
    return _render(invitation, settings=settings, now=now)


@router.get(
    "/invitations/{invitation_id}/qr.png",
    response_class=Response,
    responses={200: {"content": {"image/png": {}}, "description": "A QR code of the invitation's link"}},
)
async def invitation_qr(invitation_id: IdPath, session: SessionDep, scope: ScopeDep, settings: SettingsDep,
                        target: Literal["web", "telegram"] = "web") -> Response:
    invitation = await service.get_invitation(session, scope=scope, invitation_id=invitation_id)
    if target == "web":
        link: str | None = service.web_join_link(settings.public_base, invitation.code)
    else:
        link = settings.deep_link(invitation.code)
    if link is None:
        raise Conflict(
            "the bot's username is unknown, so there is no link to encode; "
            "set SHOUWANG_TELEGRAM_BOT_USERNAME or SHOUWANG_TELEGRAM_TOKEN",
            code="bot_username_unknown",
        )
    return Response(
        content=service.qr_png(link),
        media_type="image/png",
        # The code admits a family to a cohort: keep it out of shared caches.
        headers={
            "Cache-Control": "private, no-store",
            "Content-Disposition": f'inline; filename="invitation-{invitation.id}.png"',
        },
    )


@router.post("/invitations/{invitation_id}/revoke", response_model=InvitationRead)
async def revoke_invitation(
    invitation_id: IdPath, session: SessionDep, scope: ScopeDep, settings: SettingsDep, now: Now
) -> InvitationRead:
    invitation = await service.revoke_invitation(session, scope=scope, invitation_id=invitation_id, now=now)
    return _render(invitation, settings=settings, now=now)
