"""A village for the mobile pages: the shipped content loaded, a grandmother (phone on record)
and a father who works away in one household, a child director on Telegram, open check-ins; the
production app with the SMS channel wired to the local Aliyun double; helpers to sign in."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI

from api.main import create_app
from core.checkin.service import open_checkins_for_cohort
from core.config import PROJECT_ROOT, Settings
from core.catalog.loading import load_content
from core.models import Staff, StaffCohort
from core.security import hash_secret
from tests.endpoints import reach
from tests.channels.sms_fixtures import make_double, make_notices, sms_settings
from tests.core.checkin_fixtures import Village, seed_village
from tests.doubles.aliyun_sms import AliyunSmsDouble
from web.app import mount

GRANDMA_PHONE = "+8613812345678"
FATHER_PHONE = "+8613987654321"
DIRECTOR_CHAT = 9_001


@dataclass
class Mobile:
    app: FastAPI
    settings: Settings
    sms: AliyunSmsDouble
    village: Village
    director_id: int
    weekly_ids: dict[int, int]  # child id → weekly check-in id
    psc17_id: int


@pytest.fixture
async def mobile(settings, sessionmaker, clock) -> Mobile:  # type: ignore[no-untyped-def]
    settings = sms_settings(settings, web_cookie_secure=True)
    now = clock()
    async with sessionmaker() as session, session.begin():
        await load_content(session, root=PROJECT_ROOT / "content", now=now)
        village = await seed_village(session, now=now)
        village.grandma.phone = GRANDMA_PHONE
        village.father.phone = FATHER_PHONE
        director = Staff(display_name="王主任", role="director", token_hash=hash_secret("director-token"),
                         phone="+8613700001111", phone_visible=True, created_at=now)
        session.add(director)
        await session.flush()
        await reach(session, director, DIRECTOR_CHAT, now=now)
        session.add(StaffCohort(staff_id=director.id, cohort_id=village.cohort.id, is_primary=True))
        await open_checkins_for_cohort(session, cohort_id=village.cohort.id, questionnaire_id="weekly_checkin",
                                       cycle="2026-W48", now=now)
        await open_checkins_for_cohort(session, cohort_id=village.cohort.id, questionnaire_id="psc17",
                                       cycle="2026-11", now=now)
        from sqlalchemy import select

        from core.models import CheckIn
        rows = (await session.execute(select(CheckIn.id, CheckIn.questionnaire_id, CheckIn.child_id)
                                      .where(CheckIn.household_id == village.home_a.id))).all()
        director_id = director.id
    weekly = {child: cid for cid, qid, child in rows if qid == "weekly_checkin"}
    psc17 = next(cid for cid, qid, child in rows if qid == "psc17")
    double = make_double(clock)
    notices = make_notices(settings, double, sessionmaker, clock)
    app = create_app(settings=settings, sessionmaker=sessionmaker, clock=clock)
    mount(app, settings=settings, sessionmaker=sessionmaker, clock=clock, sms=notices)
    return Mobile(app, settings, double, village, director_id, weekly, psc17)


@pytest.fixture
async def client(mobile: Mobile) -> AsyncIterator[httpx.AsyncClient]:
    # https: the session cookie is Secure, and a client only sends it back over https.
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mobile.app), base_url="https://test",
                                 headers={"accept-language": "zh-CN", "user-agent": "Mozilla/5.0 (Linux; Android 12) Mobile"}) as c:
        yield c


async def sign_in(client: httpx.AsyncClient, mobile: Mobile, phone: str = GRANDMA_PHONE) -> None:
    asked = await client.post("/m/signin", data={"phone": phone[3:]})
    assert asked.status_code == 303, asked.text
    code = mobile.sms.code_for(phone)
    done = await client.post("/m/signin/code", data={"code": code})
    assert done.status_code == 303 and done.headers["location"] == "/m/"


def text_of(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html))
