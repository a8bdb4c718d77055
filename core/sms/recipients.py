"""Who an outbox row sent by SMS is for: the number is the endpoint's address (sms:+86…); the
guardian and cohort behind it are kept with the message for the per-person caps and the cost
per cohort."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.endpoints.service import GUARDIAN
from core.models import Endpoint, Guardian, Household


async def guardian_at_sms(session: AsyncSession, *, address: str) -> tuple[int, int] | None:
    """(guardian id, cohort id) of the guardian reached at this sms: address, or None."""
    row = (await session.execute(
        select(Guardian.id, Household.cohort_id)
        .join(Endpoint, Endpoint.guardian_id == Guardian.id)
        .join(Household, Household.id == Guardian.household_id)
        .where(Endpoint.owner == GUARDIAN, Endpoint.address == address)
    )).first()
    return None if row is None else (row[0], row[1])
