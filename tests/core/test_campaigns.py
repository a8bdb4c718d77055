"""Campaigns: created in scope, planned once when due, through the same outbox; cancellable
before sending."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest
from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.access import Scope
from core.campaigns.service import CampaignCreate, cancel_campaign, create_campaign, plan_due_campaigns
from core.clock import FrozenClock
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.models import Delivery, Staff
from core.tick import run_tick
from tests.core.outbox_fixtures import ScriptedMessenger, seed_cohort, seed_library
from tests.core.test_outbox import make_sender
from tests.endpoints import tg

ADMIN = Scope(staff_id=1, role="admin", cohort_ids=None)
MAY_25_10AM = datetime(2027, 5, 25, 2, 0, tzinfo=timezone.utc)  # 10:00 in Shanghai


async def setup(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> tuple[int, int]:
    async with sessionmaker() as session, session.begin():
        await seed_library(session, now=clock())
        for staff_id, role in ((1, "admin"), (2, "director"), (3, "supervisor")):
            session.add(Staff(id=staff_id, display_name=role, role=role, token_hash=f"h{staff_id}",
                              created_at=clock()))
        a = await seed_cohort(session, now=clock(), guardians=2, first_chat=100)
        b = await seed_cohort(session, now=clock(), guardians=3, first_chat=200)
        return a.id, b.id


def text_campaign(**kw: object) -> CampaignCreate:
    return CampaignCreate(title="5·25", send_at=MAY_25_10AM,
                          texts={"zh-Hans": "今天是5·25心理健康日。", "en": "Today is 25 May, mental health day."},
                          **kw)  # type: ignore[arg-type]


async def test_campaign_planned_once_when_due_and_sent(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, settings
) -> None:  # type: ignore[no-untyped-def]
    a, b = await setup(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():
        director = Scope(staff_id=2, role="director", cohort_ids=frozenset({a}))
        campaign = await create_campaign(session, scope=director, data=text_campaign(), now=clock())
        assert campaign.cohort_ids == [a]  # "all their cohorts" = the director's one
    async with sessionmaker() as session, session.begin():
        assert await plan_due_campaigns(session, now=clock()) == 0  # not yet
    clock.set(MAY_25_10AM)
    await run_tick(sessionmaker, settings=settings, clock=clock)
    await run_tick(sessionmaker, settings=settings, clock=clock)  # a double tick adds nothing
    async with sessionmaker() as session:
        rows = (await session.scalars(select(Delivery).where(Delivery.kind == "campaign"))).all()
    assert sorted(r.address for r in rows) == [tg(100), tg(101)]
    messenger = ScriptedMessenger()
    sender = make_sender(sessionmaker, messenger, clock)
    await sender.drain_once()  # the tick also planned Monday's lessons: one message per chat per second
    clock.advance(seconds=1)
    await sender.drain_once()
    campaign_msgs = [o for o in messenger.sent if o.kind == "campaign"]
    assert sorted(o.address for o in campaign_msgs) == [tg(100), tg(101)]
    assert campaign_msgs[0].content["texts"]["zh-Hans"] == "今天是5·25心理健康日。"


async def test_lesson_campaign_to_all_cohorts(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await setup(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():
        data = CampaignCreate(title="swimming season", send_at=MAY_25_10AM, lesson_id="lesson_2")
        campaign = await create_campaign(session, scope=ADMIN, data=data, now=clock())
        assert len(campaign.cohort_ids) == 2 and campaign.lesson_version == 1
    clock.set(MAY_25_10AM)
    async with sessionmaker() as session, session.begin():
        assert await plan_due_campaigns(session, now=clock()) == 5
    messenger = ScriptedMessenger()
    await make_sender(sessionmaker, messenger, clock).drain_once()
    assert {o.content["lesson_id"] for o in messenger.sent} == {"lesson_2"}
    assert messenger.sent[0].content["title"] == "lesson_2 zh-Hans"


async def test_cancel_before_sending(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    a, _ = await setup(sessionmaker, clock)
    async with sessionmaker() as session, session.begin():
        campaign = await create_campaign(session, scope=ADMIN, data=text_campaign(cohort_ids=[a]), now=clock())
    clock.set(MAY_25_10AM)
    async with sessionmaker() as session, session.begin():
        await plan_due_campaigns(session, now=clock())
        _, withdrawn = await cancel_campaign(session, scope=ADMIN, campaign_id=campaign.id, now=clock())
        assert withdrawn == 2
    async with sessionmaker() as session, session.begin():
        with pytest.raises(Conflict):
            await cancel_campaign(session, scope=ADMIN, campaign_id=campaign.id, now=clock())
    messenger = ScriptedMessenger()
    assert (await make_sender(sessionmaker, messenger, clock).drain_once()).sent == 0


async def test_bad_campaigns_are_refused(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    a, b = await setup(sessionmaker, clock)
    with pytest.raises(ValidationError, match="either lesson_id or texts"):
        CampaignCreate(title="x", send_at=MAY_25_10AM)
    with pytest.raises(ValidationError, match="missing text for en"):
        CampaignCreate(title="x", send_at=MAY_25_10AM, texts={"zh-Hans": "好"})
    with pytest.raises(ValidationError, match="time zone"):
        CampaignCreate(title="x", send_at=datetime(2027, 5, 25, 10), texts={"zh-Hans": "好", "en": "ok"})
    async with sessionmaker() as session:
        with pytest.raises(Invalid, match="future"):
            await create_campaign(session, scope=ADMIN, data=text_campaign(), now=MAY_25_10AM + timedelta(days=1))
        with pytest.raises(Invalid, match="unknown lesson"):
            await create_campaign(session, scope=ADMIN, now=clock(),
                                  data=CampaignCreate(title="x", send_at=MAY_25_10AM, lesson_id="nope"))
        director_a = Scope(staff_id=2, role="director", cohort_ids=frozenset({a}))
        with pytest.raises(NotFound):
            await create_campaign(session, scope=director_a, data=text_campaign(cohort_ids=[b]), now=clock())
        supervisor = Scope(staff_id=3, role="supervisor", cohort_ids=frozenset({a}))
        with pytest.raises(Forbidden):
            await create_campaign(session, scope=supervisor, data=text_campaign(), now=clock())
