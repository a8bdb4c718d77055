"""A guardian's delivery preferences (own time zone, quiet hours) and being reachable again:
validation, and lessons planned and sent by the guardian's own clock."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.delivery.planning import plan_due_lessons
from core.delivery.ratelimit import TokenBucket
from core.flows.delivery import sender_hooks
from core.delivery.sender import Sender
from core.enrolment import service as enrolment
from core.errors import Invalid
from core.models import Delivery, Guardian
from tests.core.outbox_fixtures import ScriptedMessenger, seed_cohort, seed_library
from tests.endpoints import guardian_of, tg

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)
MON_20_SHANGHAI = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
MON_20_URUMQI = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)  # UTC+6


def guardian() -> Guardian:
    return Guardian(locale="zh-Hans", relationship="father", lives_with_children=False,
                    status="active", consent_version=1, consented_at=NOW, timezone=None, quiet_start="21:30",
                    quiet_end="08:00", created_at=NOW, updated_at=NOW)


@pytest.mark.parametrize("tz", ["Asia/Urumqi", "Europe/Moscow", "Asia/Dubai", None])
def test_set_timezone(tz: str | None) -> None:
    g = guardian()
    later = NOW + timedelta(minutes=1)
    enrolment.set_timezone(g, timezone=tz, now=later)
    assert (g.timezone, g.updated_at) == (tz, later)


@pytest.mark.parametrize("tz", ["Mars/Olympus", "", "asia shanghai", "../../etc/passwd", "/etc/localtime"])
def test_set_timezone_refuses_unknown_zones(tz: str) -> None:
    g = guardian()
    with pytest.raises(Invalid) as error:
        enrolment.set_timezone(g, timezone=tz, now=NOW)
    assert error.value.field == "timezone" and g.timezone is None


@pytest.mark.parametrize(("start", "end"), [("22:30", "08:00"), ("23:30", "09:00"), ("00:00", "06:30"),
                                            ("13:00", "14:00")])
def test_set_quiet_hours(start: str, end: str) -> None:
    g = guardian()
    enrolment.set_quiet_hours(g, start=start, end=end, now=NOW)
    assert (g.quiet_start, g.quiet_end) == (start, end)


@pytest.mark.parametrize(("start", "end"), [("24:00", "08:00"), ("7:00", "08:00"), ("21:30", "8:00"),
                                            ("21:30:00", "08:00"), ("2130", "0800"), ("", "08:00"),
                                            ("21:60", "08:00"), ("08:00", "08:00"), (" 21:30", "08:00")])
def test_set_quiet_hours_refuses_anything_but_distinct_hh_mm(start: str, end: str) -> None:
    g = guardian()
    with pytest.raises(Invalid):
        enrolment.set_quiet_hours(g, start=start, end=end, now=NOW)
    assert (g.quiet_start, g.quiet_end) == ("21:30", "08:00")


def test_mark_reachable() -> None:
    g = guardian()
    assert enrolment.mark_reachable(g, now=NOW) is False
    g.unreachable_at = NOW
    later = NOW + timedelta(days=2)
    assert enrolment.mark_reachable(g, now=later) is True
    assert (g.unreachable_at, g.updated_at) == (None, later)


async def test_a_guardian_in_urumqi_gets_the_lesson_at_eight_in_the_evening_urumqi_time(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    async with sessionmaker() as session, session.begin():
        await seed_library(session, now=clock())
        await seed_cohort(session, now=clock(), guardians=2, schedule={"days": ["mon"], "time": "20:00"})
        away = await session.scalar(guardian_of(10_001))
        enrolment.set_timezone(away, timezone="Asia/Urumqi", now=clock())

    fake_now = [0.0]

    async def no_sleep(seconds: float) -> None:
        fake_now[0] += seconds

    messenger = ScriptedMessenger()
    sender = Sender(sessionmaker, messenger, hooks=sender_hooks(), clock=clock,
                    bucket=TokenBucket(25, monotonic=lambda: fake_now[0], sleep=no_sleep))

    # 20:00 in the village (Shanghai): only the guardian at home.
    clock.set(MON_20_SHANGHAI)
    assert await plan_due_lessons(sessionmaker, now=clock()) == 1
    assert (await sender.drain_once()).sent == 1
    assert await plan_due_lessons(sessionmaker, now=MON_20_URUMQI - timedelta(seconds=1)) == 0
    # 20:00 in Urumqi (22:00 in the village, quiet there): the guardian in Urumqi, same Monday.
    clock.set(MON_20_URUMQI)
    assert await plan_due_lessons(sessionmaker, now=clock()) == 1
    stats = await sender.drain_once()
    assert (stats.sent, stats.deferred) == (1, 0)  # not quiet by their own clock
    assert [item.address for item in messenger.sent] == [tg(10_000), tg(10_001)]
    async with sessionmaker() as session:
        rows = (await session.scalars(select(Delivery).where(Delivery.kind == "lesson")
                                      .order_by(Delivery.due_at))).all()
    assert [(d.address, d.due_at, d.sent_at, d.cycle) for d in rows] == [
        (tg(10_000), MON_20_SHANGHAI, MON_20_SHANGHAI, "2026-11-23T20:00"),
        (tg(10_001), MON_20_URUMQI, MON_20_URUMQI, "2026-11-23T20:00"),
    ]


async def test_quiet_hours_are_the_guardians_own_by_their_own_clock(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """Lessons at 23:00: two parents in Tokyo; the usual quiet hours hold the lesson until 08:00
    there, while "I finish work late" (23:30–09:00) gets it at 23:00 Tokyo time."""
    async with sessionmaker() as session, session.begin():
        await seed_library(session, now=clock())
        await seed_cohort(session, now=clock(), guardians=2, schedule={"days": ["mon"], "time": "23:00"})
        usual, late = (await session.scalars(select(Guardian).order_by(Guardian.id))).all()
        for g in (usual, late):
            enrolment.set_timezone(g, timezone="Asia/Tokyo", now=clock())
        enrolment.set_quiet_hours(late, start="23:30", end="09:00", now=clock())
    mon_23_tokyo = datetime(2026, 11, 23, 14, 0, tzinfo=timezone.utc)
    tue_08_tokyo = datetime(2026, 11, 23, 23, 0, tzinfo=timezone.utc)
    assert await plan_due_lessons(sessionmaker, now=mon_23_tokyo) == 2
    async with sessionmaker() as session:
        rows = (await session.scalars(select(Delivery).order_by(Delivery.address))).all()
    assert [(d.address, d.due_at) for d in rows] == [(tg(10_000), tue_08_tokyo), (tg(10_001), mon_23_tokyo)]
