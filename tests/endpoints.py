"""Test helpers: people reached at endpoints ("telegram:<chat id>", "sms:+86…")."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Endpoint, Guardian, Staff


def tg(chat_id: int | str) -> str:
    """The address of a Telegram chat."""
    return chat_id if isinstance(chat_id, str) else f"telegram:{chat_id}"


async def reach(session: AsyncSession, person: Guardian | Staff, address: int | str, *, now: datetime,
                rank: int | None = None, state: str = "active") -> Endpoint:
    """Give a guardian or staff member an endpoint (an int is a Telegram chat id)."""
    if person.id is None:
        await session.flush()
    address = tg(address)
    if rank is None:
        column = Endpoint.guardian_id if isinstance(person, Guardian) else Endpoint.staff_id
        ranks = (await session.scalars(select(Endpoint.rank).where(column == person.id))).all()
        rank = max(ranks, default=-1) + 1
    endpoint = Endpoint(owner="guardian" if isinstance(person, Guardian) else "staff",
                        guardian_id=person.id if isinstance(person, Guardian) else None,
                        staff_id=person.id if isinstance(person, Staff) else None,
                        channel=address.partition(":")[0], address=address, state=state, rank=rank,
                        state_changed_at=now, created_at=now)
    session.add(endpoint)
    await session.flush()
    return endpoint


async def address_of(session: AsyncSession, person: Guardian | Staff) -> str | None:
    """The person's first endpoint's address."""
    column = Endpoint.guardian_id if isinstance(person, Guardian) else Endpoint.staff_id
    return await session.scalar(select(Endpoint.address).where(column == person.id)
                                .order_by(Endpoint.rank, Endpoint.id).limit(1))


def guardian_of(address: int | str):  # type: ignore[no-untyped-def]
    """select(Guardian) of the guardian at this address."""
    return (select(Guardian).join(Endpoint, Endpoint.guardian_id == Guardian.id)
            .where(Endpoint.owner == "guardian", Endpoint.address == tg(address)))


def at(address: int | str, model: type = Guardian):  # type: ignore[no-untyped-def]
    """A where-clause: the guardian (or staff member) with an endpoint at this address."""
    column = Endpoint.guardian_id if model is Guardian else Endpoint.staff_id
    owner = "guardian" if model is Guardian else "staff"
    return model.id.in_(select(column).where(Endpoint.owner == owner, Endpoint.address == tg(address)))
