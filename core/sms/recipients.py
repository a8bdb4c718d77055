"""Who an outbox row reaches by SMS, until rows carry an endpoint: the guardian's phone on record."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Delivery, Guardian, Household


async def phone_for_delivery(session: AsyncSession, *, delivery_id: int) -> tuple[str, int, int] | None:
    """(phone, guardian id, cohort id) of the guardian a delivery is for, or None."""
    row = (await session.execute(
        select(Guardian.phone, Guardian.id, Household.cohort_id)
        .join(Delivery, Delivery.guardian_id == Guardian.id)
        .join(Household, Household.id == Guardian.household_id)
        .where(Delivery.id == delivery_id)
    )).first()
    if row is None or not row[0]:
        return None
    return row[0], row[1], row[2]
