"""How an inbox item reads on a director's phone and in the API: who the family is (one label
function, `family_of`, shared with every staff view that names a family), who it is about, the
conversation, and where it stands. Built at send time in the reader's language; the bot renders."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.people import age_in_years
from core.staff.directors import primary_director_contact
from core.households.identity import family_label_of
from core.models import Alert, Child, Cohort, Guardian, InboxItem, InboxMessage, Staff


@dataclass
class Family:
    """What staff see of a family: the household and the guardian who wrote. The one place a
    richer label (the guardian's name, phone, village group) is added."""

    household_id: int | None
    relationship: str | None = None
    lives_with_children: bool | None = None
    label: str | None = None  # core.households.identity.family_label: names, numbers, where the house is


async def family_of(session: AsyncSession, *, household_id: int | None, guardian_id: int | None) -> Family:
    guardian = await session.get(Guardian, guardian_id) if guardian_id else None
    return Family(household_id=household_id, relationship=guardian.relationship if guardian else None,
                  lives_with_children=guardian.lives_with_children if guardian else None,
                  label=await family_label_of(session, household_id=household_id))


@dataclass
class DirectorContact:
    """Whom a guardian's words went to: the cohort's primary child director (the name guardians
    see) and, where the director shares it, a number to call."""

    name: str | None
    phone: str | None = None


async def director_contact(session: AsyncSession, *, cohort_id: int) -> DirectorContact:
    name, phone = await primary_director_contact(session, cohort_id=cohort_id)
    return DirectorContact(name=name, phone=phone)


@dataclass
class ThreadLine:
    id: int
    direction: str  # in | out
    kind: str
    text: str | None
    local: str  # "11-29 19:12"
    status: str
    staff: str | None = None  # who replied


@dataclass
class InboxCard:
    item_id: int
    state: str
    family: dict[str, Any]
    received_local: str
    subject: str  # child | family | asking
    nickname: str | None = None
    age: int | None = None
    thread: list[ThreadLine] = field(default_factory=list)
    carries_message_id: int | None = None  # the message this card comes with (copied above it)
    alert_severity: str | None = None
    case_id: int | None = None
    call_noted_by: str | None = None
    call_noted_local: str | None = None
    done_by: str | None = None
    done_local: str | None = None

    def as_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> InboxCard:
        data = dict(data)
        data["thread"] = [ThreadLine(**t) for t in data.get("thread", [])]
        return cls(**data)

    @property
    def family_label(self) -> Family:
        return Family(**self.family)


def _local(at: datetime | None, tz: ZoneInfo) -> str | None:
    return at.astimezone(tz).strftime("%m-%d %H:%M") if at else None


async def _name(session: AsyncSession, staff_id: int | None) -> str | None:
    return await session.scalar(select(Staff.display_name).where(Staff.id == staff_id)) if staff_id else None


async def inbox_card(session: AsyncSession, *, item: InboxItem, now: datetime,
                     carries_message_id: int | None = None) -> InboxCard:
    cohort = await session.get(Cohort, item.cohort_id)
    tz = ZoneInfo(cohort.timezone if cohort else "Asia/Shanghai")
    child = await session.get(Child, item.child_id) if item.child_id else None
    family = await family_of(session, household_id=item.household_id, guardian_id=item.guardian_id)
    card = InboxCard(
        item_id=item.id, state=item.state, family=asdict(family), received_local=_local(item.created_at, tz) or "",
        subject="child" if child else ("asking" if item.state == "asking" else "family"),
        nickname=child.nickname if child else None,
        age=age_in_years(child.birth_year, child.birth_month, now.astimezone(tz).date()) if child else None,
        carries_message_id=carries_message_id, case_id=item.case_id,
    )
    names: dict[int, str | None] = {}
    for m in (await session.scalars(select(InboxMessage).where(InboxMessage.item_id == item.id)
                                    .order_by(InboxMessage.at, InboxMessage.id))).all():
        if m.staff_id and m.staff_id not in names:
            names[m.staff_id] = await _name(session, m.staff_id)
        card.thread.append(ThreadLine(id=m.id, direction=m.direction, kind=m.kind, text=m.text, local=_local(m.at, tz) or "",
                                      status=m.status, staff=names.get(m.staff_id or 0)))
    alert = await session.get(Alert, item.alert_id) if item.alert_id else None
    if alert is not None:
        card.alert_severity, card.case_id = alert.severity, alert.case_id or item.case_id
    if item.call_noted_at:
        card.call_noted_by = await _name(session, item.call_noted_by_staff_id)
        card.call_noted_local = _local(item.call_noted_at, tz)
    if item.done_at:
        card.done_by = await _name(session, item.done_by_staff_id)
        card.done_local = _local(item.done_at, tz)
    return card
