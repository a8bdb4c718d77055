"""A staff member's pending question ("type a short note…"), kept in the database: the answer
may come after a restart, or from the API-less phone an hour later. One per address (chat); a new one
replaces the old; a day later it has lapsed."""
from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import StaffPrompt

PROMPT_LIFETIME = timedelta(days=1)


async def set_prompt(session: AsyncSession, *, staff_id: int, address: str, kind: str, now: datetime,
                     alert_id: int | None = None, case_id: int | None = None, household_id: int | None = None,
                     data: dict[str, Any] | None = None) -> StaffPrompt:
    await session.execute(delete(StaffPrompt).where(StaffPrompt.address == address))
    prompt = StaffPrompt(address=address, staff_id=staff_id, kind=kind, alert_id=alert_id, case_id=case_id,
                         household_id=household_id, data=data or {}, created_at=now)
    session.add(prompt)
    await session.flush()
    return prompt


async def pending_prompt(session: AsyncSession, *, address: str, now: datetime) -> StaffPrompt | None:
    return await session.scalar(select(StaffPrompt).where(StaffPrompt.address == address,
                                                          StaffPrompt.created_at > now - PROMPT_LIFETIME))


async def clear_prompt(session: AsyncSession, *, address: str) -> None:
    await session.execute(delete(StaffPrompt).where(StaffPrompt.address == address))
