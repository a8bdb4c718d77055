"""The ledger (台账) of a cohort as a county office keeps it: one line per child — the household,
the village group, the child, the last check-in and what it showed, the open case, the last
call or visit, whether the family can be reached and on which channel. Built on the director's
roster (core.alerts.queries.roster), which scopes and audits the read."""
from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope
from core.alerts.queries import roster
from core.models import Endpoint, Guardian
from core.models.enums import GuardianStatus

LEDGER_LIMIT = 20_000  # households per cohort in one ledger: far above a county's villages


@dataclass
class LedgerRow:
    household_id: int
    cohort_id: int
    family: str | None
    village: str | None
    nickname: str | None
    age: int | None
    last_checkin: datetime | None
    band: str | None  # red | orange | yellow | ok, of the last check-in; None: none completed
    open_cases: list[int]
    last_contact: datetime | None
    reachable: bool  # at least one guardian active and not marked unreachable
    # Where the family is reached: the channels of its active guardians' endpoints, in the order
    # the outbox tries them ("sms", "web", a chat app …); empty when nobody can be reached.
    channels: tuple[str, ...] = ()


async def ledger(session: AsyncSession, *, scope: Scope, cohort_id: int, now: datetime) -> list[LedgerRow]:
    lines = await roster(session, scope=scope, now=now, cohort_id=cohort_id, limit=LEDGER_LIMIT)
    ids = [line.household_id for line in lines]
    village: dict[int, str] = {}
    reachable: set[int] = set()
    channels: dict[int, list[str]] = {}
    if ids:
        # Columns, not ORM objects: a county's ledger has thousands of guardians.
        for household_id, group, status, unreachable_at in (await session.execute(
                select(Guardian.household_id, Guardian.village, Guardian.status, Guardian.unreachable_at)
                .where(Guardian.household_id.in_(ids)).order_by(Guardian.id))).all():
            if group and household_id not in village:
                village[household_id] = group
            if status != GuardianStatus.stopped and unreachable_at is None:
                reachable.add(household_id)
        for household_id, channel in (await session.execute(
                select(Guardian.household_id, Endpoint.channel)
                .join(Endpoint, Endpoint.guardian_id == Guardian.id)
                .where(Guardian.household_id.in_(ids), Guardian.status != GuardianStatus.stopped,
                       Endpoint.state == "active")
                .order_by(Guardian.id, Endpoint.rank, Endpoint.id))).all():
            seen = channels.setdefault(household_id, [])
            if channel not in seen:
                seen.append(channel)
    rows: list[LedgerRow] = []
    for line in lines:
        family = LedgerRow(household_id=line.household_id, cohort_id=line.cohort_id, family=line.family,
                           village=village.get(line.household_id), nickname=None, age=None, last_checkin=None,
                           band=None, open_cases=line.open_cases, last_contact=line.last_contact,
                           reachable=line.household_id in reachable,
                           channels=tuple(channels.get(line.household_id, ())))
        if not line.children:
            rows.append(family)
        for child in line.children:
            rows.append(replace(family, nickname=child.nickname, age=child.age, last_checkin=child.last_checkin,
                                band=child.last_band))
    return rows


def matches(row: LedgerRow, *, q: str | None = None, village: str | None = None, band: str | None = None,
            open_case: str | None = None, reachable: str | None = None) -> bool:
    """The console's filters: free text over the child, the family and the village group; the
    others exact ("yes"/"no" for open case and reachable; band "none" for never checked in)."""
    if q:
        text = " ".join(filter(None, [row.nickname, row.family, row.village, str(row.household_id)])).lower()
        if q.strip().lower() not in text:
            return False
    if village and (row.village or "") != village:
        return False
    if band and (row.band or "none") != band:
        return False
    if open_case in ("yes", "no") and bool(row.open_cases) != (open_case == "yes"):
        return False
    if reachable in ("yes", "no") and row.reachable != (reachable == "yes"):
        return False
    return True
