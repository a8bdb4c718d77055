"""Staff: admins create and manage them; others see the staff of their own cohorts.

Secrets (API token, Telegram link code) appear in a response exactly once; only hashes are kept.
"""
from __future__ import annotations

from fastapi import APIRouter, status

from api.deps import IdPath, Now, ScopeDep, SessionDep, SettingsDep
from api.schemas import StaffWithCredentials
from core.config import Settings
from core.staff import service
from core.staff.schemas import StaffCreate, StaffCredentials, StaffRead, StaffUpdate

router = APIRouter(prefix="/staff", tags=["staff"])


def _with_credentials(issued: service.IssuedStaff, settings: Settings) -> StaffWithCredentials:
    staff = issued.staff
    code = issued.link_code
    credentials = StaffCredentials(
        api_token=issued.api_token,
        telegram_link_code=code,
        telegram_link_expires_at=staff.link_code_expires_at if code else None,
        telegram_link=settings.deep_link(code) if code else None,
    )
    return StaffWithCredentials(**StaffRead.model_validate(staff).model_dump(), credentials=credentials)


@router.post("", response_model=StaffWithCredentials, status_code=status.HTTP_201_CREATED)
async def create_staff(
    data: StaffCreate, session: SessionDep, scope: ScopeDep, settings: SettingsDep, now: Now
) -> StaffWithCredentials:
    scope.require_admin()
    issued = await service.create_staff(
        session, data=data, actor_id=scope.staff_id, now=now, link_days=settings.staff_link_code_days
    )
    return _with_credentials(issued, settings)


@router.get("", response_model=list[StaffRead])
async def list_staff(session: SessionDep, scope: ScopeDep) -> list[StaffRead]:
    return [StaffRead.model_validate(s) for s in await service.list_staff(session, scope=scope)]


@router.get("/{staff_id}", response_model=StaffRead)
async def read_staff(staff_id: IdPath, session: SessionDep, scope: ScopeDep) -> StaffRead:
    return StaffRead.model_validate(await service.get_staff(session, staff_id=staff_id, scope=scope))


@router.patch("/{staff_id}", response_model=StaffRead)
async def update_staff(
    staff_id: IdPath, data: StaffUpdate, session: SessionDep, scope: ScopeDep, now: Now
) -> StaffRead:
    # Staff may set their own phone number and whether families see it; everything else is an admin's.
    own_phone_only = staff_id == scope.staff_id and data.model_fields_set <= {"phone", "phone_visible"}
    if not own_phone_only:
        scope.require_admin()
    staff = await service.update_staff(session, staff_id=staff_id, data=data, actor_id=scope.staff_id, now=now)
    return StaffRead.model_validate(staff)


@router.post("/{staff_id}/token", response_model=StaffWithCredentials)
async def rotate_token(
    staff_id: IdPath, session: SessionDep, scope: ScopeDep, settings: SettingsDep, now: Now
) -> StaffWithCredentials:
    scope.require_admin()
    issued = await service.rotate_token(session, staff_id=staff_id, actor_id=scope.staff_id, now=now)
    return _with_credentials(issued, settings)


@router.post("/{staff_id}/link-code", response_model=StaffWithCredentials)
async def issue_link_code(
    staff_id: IdPath, session: SessionDep, scope: ScopeDep, settings: SettingsDep, now: Now
) -> StaffWithCredentials:
    scope.require_admin()
    issued = await service.issue_link_code(
        session, staff_id=staff_id, actor_id=scope.staff_id, now=now, link_days=settings.staff_link_code_days
    )
    return _with_credentials(issued, settings)
