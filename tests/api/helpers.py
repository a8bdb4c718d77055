"""Helpers for API tests: auth headers, creating cohorts and staff through the API, and
households straight into the database (enrolment is the bot's job)."""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import datetime

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.models import Child, Delivery, Guardian, Household
from tests.endpoints import reach

ADMIN = {"Authorization": "Bearer test-admin-token"}

_chat_ids = itertools.count(900_000_001)


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def create_cohort(client: httpx.AsyncClient, name: str, **extra: object) -> dict:
    response = await client.post("/api/v1/cohorts", json={"name": name, **extra}, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def create_staff(
    client: httpx.AsyncClient, role: str, cohort_ids: list[int], name: str | None = None, **extra: object
) -> dict:
    body = {"display_name": name or f"{role} of {cohort_ids}", "role": role, "cohort_ids": cohort_ids, **extra}
    response = await client.post("/api/v1/staff", json=body, headers=ADMIN)
    assert response.status_code == 201, response.text
    return response.json()


async def add_household(
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
    cohort_id: int,
    *,
    children: tuple[tuple[str, int, int], ...] = (("Xiaoming", 2018, 3),),
) -> dict[str, object]:
    """A household with one guardian and the given (nickname, birth year, birth month) children."""
    now = clock()
    async with sessionmaker() as session, session.begin():
        household = Household(cohort_id=cohort_id, created_at=now)
        session.add(household)
        await session.flush()
        guardian = Guardian(
            household_id=household.id, locale="zh-Hans", relationship="grandmother",
            lives_with_children=True, status="active", consent_version=1, consented_at=now,
            created_at=now, updated_at=now,
        )
        kids = [
            Child(household_id=household.id, nickname=nick, birth_year=year, birth_month=month, sex="girl",
                  created_at=now, updated_at=now)
            for nick, year, month in children
        ]
        session.add_all([guardian, *kids])
        await session.flush()
        endpoint = await reach(session, guardian, next(_chat_ids), now=now)
        return {"id": household.id, "guardian_id": guardian.id, "address": endpoint.address,
                "child_ids": [k.id for k in kids]}


@dataclass
class Side:
    """One cohort with its director, supervisor and a household."""

    cohort: dict
    director: dict
    supervisor: dict
    household: dict = field(default_factory=dict)

    @property
    def cohort_id(self) -> int:
        return self.cohort["id"]

    @property
    def director_auth(self) -> dict[str, str]:
        return bearer(self.director["credentials"]["api_token"])

    @property
    def supervisor_auth(self) -> dict[str, str]:
        return bearer(self.supervisor["credentials"]["api_token"])

    @property
    def child_id(self) -> int:
        return self.household["child_ids"][0]


@dataclass
class World:
    a: Side
    b: Side


def lesson_body(lesson_id: str = "praise_the_deed", **changes: object) -> dict:
    """A valid POST /lessons body (a lesson file without its version)."""
    body: dict = {
        "id": lesson_id, "audience": ["guardian"], "age_bands": ["7-12"], "topics": ["praise"],
        "source": "Parenting for Lifelong Health, praise session", "licence": "Shouwang original text, CC BY-NC-SA 4.0",
        "texts": {
            "zh-Hans": {"title": "具体地夸", "body": "孩子做对了，说出他做对了什么。", "try_today": "今天夸一件具体的事。"},
            "en": {"title": "Praise the deed", "body": "Say exactly what they did well.",
                   "try_today": "Praise one thing today."},
        },
    }
    body.update(changes)
    return body


def programme_body(programme_id: str = "guardian_7_12_short", lessons: list[str] | None = None, **changes: object) -> dict:
    body: dict = {"id": programme_id, "audience": "guardian", "age_band": "7-12",
                  "titles": {"zh-Hans": "七到十二岁", "en": "Ages 7-12"}, "lessons": ["specific_praise"] if lessons is None else lessons}
    body.update(changes)
    return body


_cycles = itertools.count(1)


def delivery(*, created_at: datetime, state: str = "sent", kind: str = "lesson", lane: int = 2, **fields: object) -> Delivery:
    """An outbox row with a fresh unique key; due when created unless told otherwise."""
    values: dict = {"address": "telegram:1", "ref": "test", "cycle": str(next(_cycles)), "due_at": created_at, "attempts": 0,
                    "payload": {}}
    values.update(fields)
    return Delivery(kind=kind, lane=lane, state=state, created_at=created_at, **values)
