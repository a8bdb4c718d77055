"""Cohort invitations: codes behind deep links and poster QR codes."""
from __future__ import annotations

import io
from datetime import datetime

import segno
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.access import Scope
from core.errors import Conflict, Invalid, NotFound
from core.inputs import Timestamp
from core.models import Invitation
from core.security import new_code


class InvitationCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    label: str = Field(default="", max_length=200)
    expires_at: Timestamp | None = None  # aware ISO 8601
    max_uses: int | None = Field(default=None, ge=1, le=1_000_000)


class InvitationRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    cohort_id: int
    code: str
    label: str
    expires_at: datetime | None
    max_uses: int | None
    uses: int
    revoked_at: datetime | None
    created_at: datetime
    deep_link: str | None = None  # the chat bot's start link, when the bot's name is known
    web_link: str | None = None  # the mobile page that enrols on the web (works inside China)
    usable: bool = True


def web_join_link(base: str, code: str) -> str:
    """The enrolment page for this invitation: scanned with WeChat or a phone camera, it opens in
    any browser — the way in for families inside mainland China, where foreign chat apps are blocked."""
    return f"{base.rstrip('/')}/m/join/{code}"


def qr_png(link: str, *, scale: int = 8, border: int = 4) -> bytes:
    """A poster-ready QR code of a deep link. Always a full QR code (never Micro QR, which phone
    cameras do not read); error level M survives a creased or smudged poster."""
    buffer = io.BytesIO()
    segno.make_qr(link, error="m").save(buffer, kind="png", scale=scale, border=border)
    return buffer.getvalue()


def invitation_problem(invitation: Invitation, now: datetime) -> str | None:
    """Why a cohort invitation cannot be used now (a CodeRejected code), or None."""
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at is not None and invitation.expires_at <= now:
        return "expired"
    if invitation.max_uses is not None and invitation.uses >= invitation.max_uses:
        return "used_up"
    return None


async def create_invitation(
    session: AsyncSession, *, scope: Scope, cohort_id: int, data: InvitationCreate, now: datetime
) -> Invitation:
    scope.require_change(cohort_id)
    if data.expires_at is not None:
        if data.expires_at.tzinfo is None:
            raise Invalid("give a time zone, e.g. 2026-12-31T23:59:00+08:00", field="expires_at")
        if data.expires_at <= now:
            raise Invalid("must be in the future", field="expires_at")
    invitation = Invitation(
        cohort_id=cohort_id,
        code=new_code(12),
        label=data.label.strip(),
        expires_at=data.expires_at,
        max_uses=data.max_uses,
        uses=0,
        created_by_staff_id=scope.staff_id,
        created_at=now,
    )
    session.add(invitation)
    await session.flush()
    audit.record(session, staff_id=scope.staff_id, action="create", entity="invitation",
                 entity_id=invitation.id, cohort_id=cohort_id, now=now)
    return invitation


async def list_invitations(session: AsyncSession, *, scope: Scope, cohort_id: int) -> list[Invitation]:
    scope.require_visible(cohort_id)
    rows = await session.scalars(
        select(Invitation).where(Invitation.cohort_id == cohort_id).order_by(Invitation.id)
    )
    return list(rows.all())


async def get_invitation(session: AsyncSession, *, scope: Scope, invitation_id: int) -> Invitation:
    invitation = await session.get(Invitation, invitation_id)
    if invitation is None or not scope.sees(invitation.cohort_id):
        raise NotFound("invitation not found")
    return invitation


async def revoke_invitation(
    session: AsyncSession, *, scope: Scope, invitation_id: int, now: datetime
) -> Invitation:
    invitation = await get_invitation(session, scope=scope, invitation_id=invitation_id)
    scope.require_change(invitation.cohort_id)
    if invitation.revoked_at is not None:
        raise Conflict("invitation already revoked")
    invitation.revoked_at = now
    audit.record(session, staff_id=scope.staff_id, action="update", entity="invitation",
                 entity_id=invitation.id, cohort_id=invitation.cohort_id, now=now, fields=["revoked_at"])
    return invitation
