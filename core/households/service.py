"""Staff-side reads and corrections of households. Scoped and audited."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from core import audit
from core.access import Scope
from core import people as rules
from core.errors import Invalid, NotFound
from core.households.identity import Identity, family_label
from core.households.schemas import ChildRead, ChildUpdate, GuardianRead, HouseholdRead
from core.models import Child, Guardian, Household


def _full():
    return (selectinload(Household.guardians), selectinload(Household.children))


_GUARDIAN_COLUMNS = tuple(getattr(Guardian, name) for name in GuardianRead.model_fields)
_CHILD_COLUMNS = tuple(getattr(Child, name) for name in ChildRead.model_fields)


async def list_households(
    session: AsyncSession, *, scope: Scope, cohort_id: int, now: datetime, limit: int = 100, offset: int = 0
) -> list[HouseholdRead]:
    """A page of the cohort's households, by id, as staff read them. Three column queries (the
    page, its guardians, its children), no ORM objects: this is one of the busiest lists."""
    scope.require_visible(cohort_id)
    page = (await session.execute(
        select(Household.id, Household.cohort_id, Household.created_at)
        .where(Household.cohort_id == cohort_id)
        .order_by(Household.id)
        .limit(limit)
        .offset(offset)
    )).all()
    ids = [h.id for h in page]
    guardians: dict[int, list[GuardianRead]] = {i: [] for i in ids}
    children: dict[int, list[ChildRead]] = {i: [] for i in ids}
    if ids:
        for row in (await session.execute(
            select(Guardian.household_id, *_GUARDIAN_COLUMNS).where(Guardian.household_id.in_(ids))
            .order_by(Guardian.household_id, Guardian.id)
        )).mappings():
            guardians[row["household_id"]].append(GuardianRead.model_validate(dict(row)))
        for row in (await session.execute(
            select(Child.household_id, *_CHILD_COLUMNS).where(Child.household_id.in_(ids))
            .order_by(Child.household_id, Child.id)
        )).mappings():
            children[row["household_id"]].append(ChildRead.model_validate(dict(row)))
    audit.record(session, staff_id=scope.staff_id, action="read", entity="household", cohort_id=cohort_id,
                 now=now, ids=ids)
    return [HouseholdRead(id=h.id, cohort_id=h.cohort_id, created_at=h.created_at, guardians=guardians[h.id],
                          children=children[h.id],
                          family=family_label(Identity(g.call_name, g.phone, g.village) for g in guardians[h.id]))
            for h in page]


async def get_household(session: AsyncSession, *, scope: Scope, household_id: int, now: datetime) -> Household:
    household = await session.scalar(select(Household).options(*_full()).where(Household.id == household_id))
    if household is None or not scope.sees(household.cohort_id):
        raise NotFound("household not found")
    audit.record(session, staff_id=scope.staff_id, action="read", entity="household", entity_id=household.id,
                 cohort_id=household.cohort_id, now=now)
    return household


async def update_child(
    session: AsyncSession, *, scope: Scope, child_id: int, data: ChildUpdate, now: datetime
) -> Child:
    child = await session.get(Child, child_id)
    household = await session.get(Household, child.household_id) if child else None
    if child is None or household is None or not scope.sees(household.cohort_id):
        raise NotFound("child not found")
    scope.require_change(household.cohort_id)
    changes = data.model_dump(exclude_unset=True)
    if "nickname" in changes:
        if changes["nickname"] is None:
            raise Invalid("must not be null", field="nickname")
        try:
            child.nickname = rules.clean_nickname(changes["nickname"])
        except Invalid as exc:
            raise Invalid(str(exc), field="nickname", code=exc.code) from None
    year = changes.get("birth_year") or child.birth_year
    month = changes.get("birth_month") or child.birth_month
    if "birth_year" in changes or "birth_month" in changes:
        rules.check_birth(year, month, now.date())
        child.birth_year, child.birth_month = year, month
    if "sex" in changes:
        child.sex = changes["sex"]
    child.updated_at = now
    await session.flush()
    audit.record(session, staff_id=scope.staff_id, action="update", entity="child", entity_id=child.id,
                 cohort_id=household.cohort_id, now=now, fields=sorted(changes))
    return child
