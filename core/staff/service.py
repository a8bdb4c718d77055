from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core import audit
from core.access import Scope
from core.config import SUPPORTED_LOCALES
from core.endpoints.service import move_staff_address
from core.people import clean_phone
from core.errors import Conflict, Invalid, NotFound
from core.models import Cohort, Staff, StaffCohort
from core.models.enums import StaffRole
from core.security import hash_secret, new_code, new_token, same_secret
from core.staff.schemas import StaffCreate, StaffUpdate


@dataclass
class IssuedStaff:
    staff: Staff
    api_token: str | None
    link_code: str | None


async def _check_cohorts(session: AsyncSession, cohort_ids: list[int]) -> None:
    if not cohort_ids:
        return
    found = set((await session.scalars(select(Cohort.id).where(Cohort.id.in_(cohort_ids)))).all())
    missing = sorted(set(cohort_ids) - found)
    if missing:
        raise Invalid(f"no such cohort: {', '.join(map(str, missing))}", field="cohort_ids")


def _issue_link_code(staff: Staff, *, now: datetime, days: int) -> str:
    code = "s" + new_code(15)
    staff.link_code_hash = hash_secret(code)
    staff.link_code_expires_at = now + timedelta(days=days)
    return code


async def create_staff(
    session: AsyncSession, *, data: StaffCreate, actor_id: int | None, now: datetime, link_days: int
) -> IssuedStaff:
    await _check_cohorts(session, data.cohort_ids)
    token = new_token()
    staff = Staff(
        display_name=data.display_name,
        role=data.role,
        locale=data.locale,
        token_hash=hash_secret(token),
        active=True,
        is_bootstrap=False,
        created_at=now,
        memberships=[
            StaffCohort(cohort_id=cid, is_primary=cid in data.primary_cohort_ids)
            for cid in dict.fromkeys(data.cohort_ids)
        ],
    )
    code = _issue_link_code(staff, now=now, days=link_days)
    session.add(staff)
    await session.flush()
    await session.refresh(staff, ["telegram_linked"])  # read from endpoints, not set by the insert
    audit.record(session, staff_id=actor_id, action="create", entity="staff", entity_id=staff.id, now=now)
    return IssuedStaff(staff=staff, api_token=token, link_code=code)


def _with_memberships():
    return selectinload(Staff.memberships)


async def list_staff(session: AsyncSession, *, scope: Scope) -> list[Staff]:
    query = select(Staff).options(_with_memberships()).order_by(Staff.id)
    if scope.cohort_ids is not None:
        # Non-admins see the staff of their own cohorts (who else helps these families).
        query = query.where(
            Staff.id.in_(select(StaffCohort.staff_id).where(StaffCohort.cohort_id.in_(scope.cohort_ids)))
        )
    return list((await session.scalars(query)).all())


async def get_staff(session: AsyncSession, *, staff_id: int, scope: Scope | None = None) -> Staff:
    staff = await session.scalar(select(Staff).options(_with_memberships()).where(Staff.id == staff_id))
    if staff is None:
        raise NotFound("staff member not found")
    if scope is not None and scope.cohort_ids is not None and staff.id != scope.staff_id:
        if not {m.cohort_id for m in staff.memberships} & scope.cohort_ids:
            raise NotFound("staff member not found")
    return staff


async def update_staff(
    session: AsyncSession, *, staff_id: int, data: StaffUpdate, actor_id: int, now: datetime
) -> Staff:
    staff = await get_staff(session, staff_id=staff_id)
    changes = data.model_dump(exclude_unset=True)
    if "display_name" in changes and changes["display_name"] is not None:
        staff.display_name = changes["display_name"].strip()
    if changes.get("locale") is not None:
        if changes["locale"] not in SUPPORTED_LOCALES:
            raise Invalid("unsupported locale", field="locale")
        staff.locale = changes["locale"]
    if "phone" in changes:
        staff.phone = clean_phone(changes["phone"]) if changes["phone"] else None
    if changes.get("phone_visible") is not None:
        staff.phone_visible = changes["phone_visible"]
    if changes.get("active") is not None:
        if staff.is_bootstrap and not changes["active"]:
            raise Conflict("the bootstrap admin is managed by SHOUWANG_ADMIN_TOKEN", field="active")
        staff.active = changes["active"]
    cohort_ids = changes.get("cohort_ids")
    primary_ids = changes.get("primary_cohort_ids")
    if cohort_ids is not None or primary_ids is not None:
        if cohort_ids is None:
            cohort_ids = [m.cohort_id for m in staff.memberships]
        if primary_ids is None:
            primary_ids = [m.cohort_id for m in staff.memberships if m.is_primary]
        if staff.role == StaffRole.admin and cohort_ids:
            raise Invalid("admins see every cohort; leave cohort_ids empty", field="cohort_ids")
        if staff.role != StaffRole.admin and not cohort_ids:
            raise Invalid("directors and supervisors need at least one cohort", field="cohort_ids")
        if not set(primary_ids) <= set(cohort_ids):
            raise Invalid("primary_cohort_ids must be among cohort_ids", field="primary_cohort_ids")
        if primary_ids and staff.role != StaffRole.director:
            raise Invalid("only directors can be a cohort's primary director", field="primary_cohort_ids")
        await _check_cohorts(session, cohort_ids)
        staff.memberships = [
            StaffCohort(cohort_id=cid, is_primary=cid in primary_ids) for cid in dict.fromkeys(cohort_ids)
        ]
    await session.flush()
    await session.refresh(staff, ["telegram_linked"])
    audit.record(
        session, staff_id=actor_id, action="update", entity="staff", entity_id=staff.id, now=now,
        fields=sorted(changes),
    )
    return staff


async def rotate_token(session: AsyncSession, *, staff_id: int, actor_id: int, now: datetime) -> IssuedStaff:
    staff = await get_staff(session, staff_id=staff_id)
    if staff.is_bootstrap:
        raise Conflict("the bootstrap admin's token is set by SHOUWANG_ADMIN_TOKEN")
    token = new_token()
    staff.token_hash = hash_secret(token)
    audit.record(session, staff_id=actor_id, action="update", entity="staff", entity_id=staff.id, now=now,
                 fields=["api_token"])
    return IssuedStaff(staff=staff, api_token=token, link_code=None)


async def issue_link_code(
    session: AsyncSession, *, staff_id: int, actor_id: int, now: datetime, link_days: int
) -> IssuedStaff:
    staff = await get_staff(session, staff_id=staff_id)
    code = _issue_link_code(staff, now=now, days=link_days)
    audit.record(session, staff_id=actor_id, action="update", entity="staff", entity_id=staff.id, now=now,
                 fields=["telegram_link_code"])
    return IssuedStaff(staff=staff, api_token=None, link_code=code)


async def authenticate(session: AsyncSession, *, token: str) -> Staff | None:
    if not token:
        return None
    staff = await session.scalar(select(Staff).where(Staff.token_hash == hash_secret(token)))
    if staff is None or not staff.active:
        return None
    return staff


async def find_by_link_code(session: AsyncSession, *, code: str) -> Staff | None:
    return await session.scalar(select(Staff).where(Staff.link_code_hash == hash_secret(code)))


async def link_address(session: AsyncSession, *, staff: Staff, address: str, now: datetime) -> Staff:
    """Bind an address (a chat) to a staff record with a one-time link code (already matched by
    the caller): it becomes their first endpoint; one address, one staff record."""
    await move_staff_address(session, staff_id=staff.id, address=address, now=now)
    staff.link_code_hash = None
    staff.link_code_expires_at = None
    audit.record(session, staff_id=staff.id, action="update", entity="staff", entity_id=staff.id, now=now,
                 fields=["telegram_chat"])
    await session.flush()
    return staff


async def staff_cohort_names(session: AsyncSession, *, staff_id: int) -> list[str]:
    """Names of the cohorts a staff member covers (told to them when they link Telegram)."""
    rows = await session.scalars(
        select(Cohort.name)
        .join(StaffCohort, StaffCohort.cohort_id == Cohort.id)
        .where(StaffCohort.staff_id == staff_id)
        .order_by(Cohort.name)
    )
    return list(rows.all())


async def ensure_bootstrap_admin(session: AsyncSession, *, token: str, now: datetime) -> Staff:
    """The admin behind SHOUWANG_ADMIN_TOKEN: a real staff row, so the audit log names them."""
    staff = await session.scalar(select(Staff).where(Staff.is_bootstrap.is_(True)))
    token_hash = hash_secret(token)
    if staff is None:
        staff = Staff(
            display_name="Bootstrap admin",
            role=StaffRole.admin,
            token_hash=token_hash,
            locale="zh-Hans",
            active=True,
            is_bootstrap=True,
            created_at=now,
        )
        session.add(staff)
    elif not same_secret(staff.token_hash, token_hash):
        staff.token_hash = token_hash
    staff.active = True
    await session.flush()
    return staff
