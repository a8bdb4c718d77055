from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.config import Settings
from core.housekeeping import last_beat
from core.models import CodeAttempt, Draft, IdempotencyKey, ProcessedUpdate, Staff
from core.tick import run_tick
from tests.endpoints import tg


async def test_tick_forgets_stale_state_and_beats(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, settings: Settings
) -> None:
    now = clock()
    async with sessionmaker() as session, session.begin():
        for chat_id, age in ((1, timedelta(days=30)), (2, timedelta(hours=1))):
            session.add(Draft(address=tg(chat_id), flow="enrol", step="consent", data={}, created_at=now - age,
                              updated_at=now - age))
        session.add(CodeAttempt(address=tg(1), attempted_at=now - timedelta(hours=2)))
        session.add(CodeAttempt(address=tg(1), attempted_at=now - timedelta(minutes=1)))
        session.add(ProcessedUpdate(channel="telegram", event_id="1", processed_at=now - timedelta(days=8)))
        session.add(ProcessedUpdate(channel="sms", event_id="2", processed_at=now))
        staff = Staff(display_name="A", role="director", token_hash="h", locale="en", active=True, created_at=now)
        session.add(staff)
        await session.flush()
        for key, age in (("old", timedelta(hours=25)), ("new", timedelta(hours=23))):
            session.add(IdempotencyKey(staff_id=staff.id, key=key, action="case_note", fingerprint="f", entity_id=1,
                                       created_at=now - age))

    await run_tick(sessionmaker, settings=settings, clock=clock)
    await run_tick(sessionmaker, settings=settings, clock=clock)  # twice is harmless

    async with sessionmaker() as session:
        assert (await session.scalars(select(Draft.address))).all() == [tg(2)]
        assert await session.scalar(select(func.count()).select_from(CodeAttempt)) == 1
        assert (await session.scalars(select(ProcessedUpdate.event_id))).all() == ["2"]
        assert (await session.scalars(select(IdempotencyKey.key))).all() == ["new"]
        assert await last_beat(session, name="tick") == now


async def test_closed_cases_are_forgotten_after_the_retention_period(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, settings: Settings
) -> None:
    from core.models import Alert, Case, CaseEvent

    now = clock()
    retention = timedelta(days=settings.case_retention_days)
    async with sessionmaker() as session, session.begin():
        for n, (status, closed) in enumerate((("closed", now - retention - timedelta(days=1)),
                                              ("closed", now - retention + timedelta(days=1)),
                                              ("open", None))):
            case = Case(subject_key=f"child:{n}", status=status, opened_at=now - retention * 2, closed_at=closed)
            session.add(case)
            await session.flush()
            session.add(CaseEvent(case_id=case.id, at=now, kind="note", detail={}))
            session.add(Alert(subject_key=f"child:{n}", severity="red", audience="child", rule_id="r", reason="r",
                              status="resolved" if status == "closed" else "open", evidence={}, created_at=now,
                              last_seen_at=now, case_id=case.id))
    await run_tick(sessionmaker, settings=settings, clock=clock)
    async with sessionmaker() as session:
        assert sorted((await session.scalars(select(Case.subject_key))).all()) == ["child:1", "child:2"]
        assert sorted((await session.scalars(select(Alert.subject_key))).all()) == ["child:1", "child:2"]
        assert await session.scalar(select(func.count()).select_from(CaseEvent)) == 2


async def test_a_failing_planner_never_keeps_escalations_from_running(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, settings: Settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Issue #16: a planning statement stopped by the worker's statement timeout (here: any
    error) fails its step only; escalations and reminders still run, the heartbeat stays old
    (so /healthz shows it), and the error is raised for the scheduler to log."""
    import core.tick

    ran: list[str] = []

    async def broken(*_args: object, **_kwargs: object) -> int:
        raise TimeoutError("planning took too long")

    async def escalate(_session: AsyncSession, *, now: object) -> int:
        ran.append("escalate")
        return 0

    monkeypatch.setattr(core.tick, "plan_due_lessons", broken)
    monkeypatch.setattr(core.tick, "escalate_due", escalate)
    with pytest.raises(TimeoutError):
        await run_tick(sessionmaker, settings=settings, clock=clock)
    assert ran == ["escalate"]
    async with sessionmaker() as session:
        assert await last_beat(session, name="tick") is None
