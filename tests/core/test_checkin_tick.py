"""The tick's check-in work over the database: each cohort's due questionnaire planned once per
cycle (a double tick or a second worker adds nothing), stale slots skipped, reminders to the
right people, expiry with a word to whoever had started, and sends dropped when the check-in
was answered or closed in the meantime."""
from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.checkin.outgoing import resolve_checkins
from core.checkin.planning import (
    close_expired, plan_due_checkins, plan_reminders, run_checkin_tick,
)
from core.checkin.service import record_answer
from core.clock import FrozenClock
from core.delivery.outbox import SENT, claim
from core.messages import MessageKind
from core.models import Alert, CheckIn, CheckInRound, Cohort, Delivery, Questionnaire
from tests.core.checkin_fixtures import Village, seed_village

SUNDAY_1905 = datetime(2026, 11, 29, 11, 5, tzinfo=timezone.utc)  # the weekly slot has just passed
WEEKLY_ONLY = {"weekly_checkin": {"every": "week", "day": "sun", "time": "19:00", "expires_after_days": 3}}


async def village(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
                  schedule: dict = WEEKLY_ONLY) -> Village:  # type: ignore[type-arg]
    async with sessionmaker() as session, session.begin():
        v = await seed_village(session, now=clock())
        v.cohort.checkin_schedule = schedule
    return v


async def rows(sessionmaker: async_sessionmaker[AsyncSession], model: type, *where: object) -> list:  # type: ignore[type-arg]
    async with sessionmaker() as session:
        return list((await session.scalars(select(model).where(*where))).all())


async def test_a_round_is_planned_once_per_cycle(sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    await village(sessionmaker, clock)
    clock.set(SUNDAY_1905)
    first = await plan_due_checkins(sessionmaker, now=clock())
    assert (first.rounds, first.checkins, first.deliveries) == (1, 3, 4)  # 3 children; household B asks both
    [round_] = await rows(sessionmaker, CheckInRound)
    assert (round_.questionnaire_id, round_.questionnaire_version, round_.cycle, round_.checkins,
            round_.deliveries) == ("weekly_checkin", 2, "2026-W48", 3, 4)
    assert round_.slot_at == datetime(2026, 11, 29, 11, 0, tzinfo=timezone.utc)
    checkins = await rows(sessionmaker, CheckIn)
    assert {c.expires_at - c.due_at for c in checkins} == {timedelta(days=3)}
    assert {c.due_at for c in checkins} == {round_.slot_at}

    clock.advance(seconds=15)
    again = await plan_due_checkins(sessionmaker, now=clock())
    assert (again.rounds, again.checkins) == (0, 0)
    assert len(await rows(sessionmaker, Delivery)) == 4


async def test_two_workers_ticking_at_once_plan_one_round(sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    await village(sessionmaker, clock)
    clock.set(SUNDAY_1905)
    results = await asyncio.gather(plan_due_checkins(sessionmaker, now=clock()),
                                   plan_due_checkins(sessionmaker, now=clock()))
    assert sorted(r.rounds for r in results) == [0, 1]
    assert len(await rows(sessionmaker, CheckIn)) == 3 and len(await rows(sessionmaker, Delivery)) == 4


async def test_a_slot_missed_for_more_than_two_days_is_skipped(sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    await village(sessionmaker, clock)
    clock.set(SUNDAY_1905 + timedelta(days=2, minutes=1))  # the machine was off since before Sunday evening
    assert (await plan_due_checkins(sessionmaker, now=clock())).rounds == 0
    assert await rows(sessionmaker, CheckIn) == []


async def test_no_schedule_or_a_retired_questionnaire_plans_nothing(sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    v = await village(sessionmaker, clock, schedule={})
    clock.set(SUNDAY_1905)
    assert (await plan_due_checkins(sessionmaker, now=clock())).rounds == 0
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Cohort).where(Cohort.id == v.cohort.id).values(checkin_schedule=WEEKLY_ONLY))
        await session.execute(update(Questionnaire).where(Questionnaire.id == "weekly_checkin")
                              .values(retired_at=clock()))
    assert (await plan_due_checkins(sessionmaker, now=clock())).rounds == 0
    assert await rows(sessionmaker, CheckInRound) == []


async def mark_sent(sessionmaker) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Delivery).values(state=SENT, provider_message_id="1"))


async def test_reminders_go_to_whoever_is_answering_or_else_everyone_reached(sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    v = await village(sessionmaker, clock)
    clock.set(SUNDAY_1905)
    await plan_due_checkins(sessionmaker, now=clock())
    await mark_sent(sessionmaker)
    [checkin_b] = await rows(sessionmaker, CheckIn, CheckIn.child_id == v.child_b.id)
    async with sessionmaker() as session, session.begin():
        # In household B (both parents asked), the mother has started.
        await record_answer(session, checkin_id=checkin_b.id, guardian_id=v.mum_b.id, item_id="mood", value=0,
                            now=clock())
    clock.advance(hours=24)
    async with sessionmaker() as session, session.begin():
        assert await plan_reminders(session, now=clock()) == 3
    reminders = await rows(sessionmaker, Delivery, Delivery.kind == MessageKind.CHECKIN_REMINDER)
    by_checkin: dict[int, set[int]] = {}
    for r in reminders:
        by_checkin.setdefault(r.payload["checkin_id"], set()).add(r.address)
    assert by_checkin[checkin_b.id] == {v.mum_b.address}  # not the father: she is answering
    assert {d.cycle for d in reminders} == {"r1"} and {d.lane for d in reminders} == {1}
    async with sessionmaker() as session, session.begin():
        assert await plan_reminders(session, now=clock()) == 0  # once per threshold


async def test_expiry_counts_as_missed_and_tells_only_who_had_started(sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    v = await village(sessionmaker, clock)
    clock.set(SUNDAY_1905)
    await plan_due_checkins(sessionmaker, now=clock())
    [checkin_a] = await rows(sessionmaker, CheckIn, CheckIn.child_id == v.older.id)
    async with sessionmaker() as session, session.begin():
        await record_answer(session, checkin_id=checkin_a.id, guardian_id=v.grandma.id, item_id="mood", value=2,
                            now=clock())
    clock.set(SUNDAY_1905 + timedelta(days=3))
    async with sessionmaker() as session, session.begin():
        assert await close_expired(session, now=clock()) == 3
    assert {c.state for c in await rows(sessionmaker, CheckIn)} == {"expired"}
    [notice] = await rows(sessionmaker, Delivery, Delivery.kind == MessageKind.CHECKIN_CLOSED)
    assert (notice.address, notice.payload["checkin_id"]) == (v.grandma.address, checkin_a.id)
    # What was answered is still evaluated: "often unhappy" raises its yellow alert.
    [alert] = await rows(sessionmaker, Alert)
    assert (alert.rule_id, alert.severity, alert.child_id) == ("low_mood", "yellow", v.older.id)
    async with sessionmaker() as session, session.begin():
        assert await close_expired(session, now=clock()) == 0


async def test_a_send_is_dropped_when_the_checkin_was_answered_or_closed_meanwhile(sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    v = await village(sessionmaker, clock)
    clock.set(SUNDAY_1905)
    await plan_due_checkins(sessionmaker, now=clock())
    [checkin_b] = await rows(sessionmaker, CheckIn, CheckIn.child_id == v.child_b.id)
    async with sessionmaker() as session, session.begin():
        await record_answer(session, checkin_id=checkin_b.id, guardian_id=v.mum_b.id, item_id="mood", value=0,
                            now=clock())
        await session.execute(update(CheckIn).where(CheckIn.child_id == v.baby.id)
                              .values(state="expired"))
    async with sessionmaker() as session, session.begin():
        claimed = await claim(session, now=clock(), limit=10, lease=timedelta(minutes=1))
        contents = await resolve_checkins(session, items=claimed, now=clock())
        outcome = {(i.delivery.address, i.delivery.payload["checkin_id"]): (i.delivery.state, i.delivery.last_error)
                   for i in claimed}
    [checkin_older] = await rows(sessionmaker, CheckIn, CheckIn.child_id == v.older.id)
    [checkin_baby] = await rows(sessionmaker, CheckIn, CheckIn.child_id == v.baby.id)
    assert outcome[(v.dad_b.address, checkin_b.id)] == ("skipped", "claimed_by_other")
    assert outcome[(v.grandma.address, checkin_baby.id)] == ("skipped", "checkin_closed")
    assert outcome[(v.mum_b.address, checkin_b.id)] == ("sending", None)
    # The mother, who started before her message went out, gets where she is: question 2.
    mum = next(d for d in claimed if d.delivery.address == v.mum_b.address)
    assert contents[mum.delivery.id]["question"]["number"] == 2
    grandma = next(d for d in claimed if d.delivery.payload["checkin_id"] == checkin_older.id)
    assert contents[grandma.delivery.id]["question"]["text"] == "这一周，小明的心情怎么样？"


async def test_the_whole_tick_runs_twice_harmlessly(sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    await village(sessionmaker, clock)
    clock.set(SUNDAY_1905)
    for _ in range(2):
        await run_checkin_tick(sessionmaker, now=clock())
    assert len(await rows(sessionmaker, CheckIn)) == 3
