"""Whom to call: the one place that turns a household's guardians into the label staff read on
every card, list and API answer — "王奶奶 · 13812345678 · 三组 村口小卖部旁". Pure formatting plus
one batched read; callers scope and audit as they already do for the household."""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.people import display_phone
from core.models import Draft, Guardian

SEP = " · "


@dataclass(frozen=True)
class Identity:
    call_name: str | None
    phone: str | None  # E.164 as stored
    village: str | None

    @classmethod
    def of(cls, guardian: Guardian) -> Identity:
        return cls(guardian.call_name, guardian.phone, guardian.village)

    @classmethod
    def of_draft(cls, draft: Draft) -> Identity:
        data = draft.data or {}
        return cls(data.get("call_name"), data.get("phone"), data.get("village"))


def family_label(people: Iterable[Identity]) -> str | None:
    """Each guardian's name and number, then where the house is (once per distinct place):
    "王奶奶 · 13812345678 / 王爸爸 · +447700900123 · 三组 村口". None when nothing is known, so the
    caller shows its own fallback ("household #3")."""
    persons, places = [], []
    for p in people:
        bits = [b for b in (p.call_name, display_phone(p.phone)) if b]
        if bits:
            persons.append(SEP.join(bits))
        if p.village and p.village not in places:
            places.append(p.village)
    parts = [" / ".join(persons)] if persons else []
    parts.extend(places)
    return SEP.join(parts) or None


async def household_identities(session: AsyncSession, *, household_ids: Iterable[int]) -> dict[int, list[Identity]]:
    ids = sorted({i for i in household_ids if i is not None})
    if not ids:
        return {}
    out: dict[int, list[Identity]] = {}
    # Three columns, not Guardian objects: lists ask this for up to 200 households a request.
    rows = await session.execute(select(Guardian.household_id, Guardian.call_name, Guardian.phone, Guardian.village)
                                 .where(Guardian.household_id.in_(ids))
                                 .order_by(Guardian.household_id, Guardian.id))
    for household_id, call_name, phone, village in rows.all():
        out.setdefault(household_id, []).append(Identity(call_name, phone, village))
    return out


async def family_labels(session: AsyncSession, *, household_ids: Iterable[int | None]) -> dict[int, str]:
    """household id → label, for the households whose guardians told us anything."""
    found = await household_identities(session, household_ids=[i for i in household_ids if i is not None])
    labels = {hid: family_label(people) for hid, people in found.items()}
    return {hid: label for hid, label in labels.items() if label}


async def family_label_of(session: AsyncSession, *, household_id: int | None) -> str | None:
    if household_id is None:
        return None
    return (await family_labels(session, household_ids=[household_id])).get(household_id)
