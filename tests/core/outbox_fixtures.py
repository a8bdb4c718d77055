"""Builders for outbox tests: a cohort with a lesson schedule, guardians, lessons, programmes,
and a scripted fake Messenger."""
from __future__ import annotations

from collections import defaultdict, deque
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Child, Cohort, Guardian, Household, Lesson, Programme
from core.ports import Capabilities, Outgoing, SendOutcome
from tests.endpoints import reach, tg


def lesson(lesson_id: str, *, audience: tuple[str, ...] = ("guardian", "migrant_parent"),
           bands: tuple[str, ...] = ("3-6", "7-12"), now: datetime, version: int = 1) -> Lesson:
    return Lesson(
        id=lesson_id, version=version, audience=list(audience), age_bands=list(bands), topics=["test"],
        source="test source for unit tests", licence="test", media={},
        texts={loc: {"title": f"{lesson_id} {loc}", "body": f"body of {lesson_id}", "try_today": "try"}
               for loc in ("zh-Hans", "en")},
        sha256="x", loaded_at=now,
    )


async def seed_library(session: AsyncSession, *, now: datetime, lessons: int = 3) -> list[str]:
    ids = [f"lesson_{i}" for i in range(1, lessons + 1)]
    for lid in ids:
        session.add(lesson(lid, now=now))
    for audience in ("guardian", "migrant_parent"):
        for band in ("3-6", "7-12"):
            session.add(Programme(id=f"{audience}_{band.replace('-', '_')}", version=1, audience=audience,
                                  age_band=band, titles={"zh-Hans": "t", "en": "t"}, lessons=ids, sha256="x",
                                  loaded_at=now))
    await session.flush()
    return ids


async def seed_cohort(session: AsyncSession, *, now: datetime, guardians: int, schedule: dict | None = None,
                      first_chat: int = 10_000) -> Cohort:
    cohort = Cohort(name="测试村", region="", timezone="Asia/Shanghai", default_locale="zh-Hans",
                    lesson_schedule=schedule if schedule is not None else {"days": ["mon", "thu"], "time": "20:00"},
                    checkin_schedule={}, created_at=now)
    session.add(cohort)
    await session.flush()
    for i in range(guardians):
        household = Household(cohort_id=cohort.id, created_at=now)
        session.add(household)
        await session.flush()
        session.add(Child(household_id=household.id, nickname=f"c{i}", birth_year=2017, birth_month=5,
                          created_at=now, updated_at=now))
        guardian = Guardian(household_id=household.id, locale="zh-Hans",
                            relationship="grandmother", lives_with_children=True, status="active",
                            consent_version=1, consented_at=now, created_at=now, updated_at=now)
        session.add(guardian)
        await reach(session, guardian, first_chat + i, now=now)
    await session.flush()
    return cohort


class ScriptedMessenger:
    """Answers each delivery with the next scripted outcome for its address (default: sent);
    any channel — an int is a Telegram chat id. It can carry anything unless told otherwise."""

    capabilities = Capabilities(can_edit=True, buttons=True, max_text=None, media=frozenset(), reply_window=None,
                                unsupported=frozenset())

    def __init__(self) -> None:
        self.sent: list[Outgoing] = []
        self.script: dict[str, deque[SendOutcome]] = defaultdict(deque)
        self._next_id = 1

    def then(self, address: int | str, *outcomes: SendOutcome) -> None:
        self.script[tg(address)].extend(outcomes)

    async def deliver(self, item: Outgoing) -> SendOutcome:
        self.sent.append(item)
        if self.script[item.address]:
            return self.script[item.address].popleft()
        self._next_id += 1
        return SendOutcome(status="sent", message_id=str(self._next_id))
