"""Campaigns over HTTP: directors for their cohorts, admins for all, supervisors read only; other
cohorts' campaigns do not exist for a director; cancelling withdraws what is not yet sent."""
from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.campaigns.service import plan_due_campaigns
from core.clock import FrozenClock
from core.models import Delivery
from tests.api.helpers import ADMIN, World, add_household, lesson_body

SEND_AT = "2026-12-01T10:00:00+08:00"
SEND_AT_UTC = datetime(2026, 12, 1, 2, 0, tzinfo=timezone.utc)
TEXTS = {"zh-Hans": "天冷了，给孩子加衣服。", "en": "It is getting cold: dress the children warmly."}
NO_DELIVERIES = {"pending": 0, "sending": 0, "sent": 0, "failed": 0, "blocked": 0, "cancelled": 0, "skipped": 0}


def campaign_body(**changes: object) -> dict:
    return {"title": "Winter", "send_at": SEND_AT, "texts": TEXTS, **changes}


async def create(client: httpx.AsyncClient, auth: dict[str, str], **changes: object) -> dict:
    response = await client.post("/api/v1/campaigns", json=campaign_body(**changes), headers=auth)
    assert response.status_code == 201, response.text
    return response.json()


async def plan(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> int:
    """What the tick does when the campaign is due."""
    clock.set(SEND_AT_UTC)
    async with sessionmaker() as session, session.begin():
        return await plan_due_campaigns(session, now=clock())


async def test_director_creates_for_their_cohorts_and_reads_it(client: httpx.AsyncClient, world: World) -> None:
    campaign = await create(client, world.a.director_auth, cohort_ids=None)
    assert campaign["cohort_ids"] == [world.a.cohort_id]
    assert campaign["state"] == "scheduled" and campaign["send_at"] == "2026-12-01T02:00:00Z"
    assert campaign["texts"] == TEXTS and campaign["lesson_id"] is None
    assert campaign["created_by_staff_id"] == world.a.director["id"]

    for auth in (world.a.director_auth, world.a.supervisor_auth, ADMIN):
        detail = (await client.get(f"/api/v1/campaigns/{campaign['id']}", headers=auth)).json()
        assert detail == {**campaign, "deliveries": NO_DELIVERIES}


async def test_lists_are_scoped(client: httpx.AsyncClient, world: World) -> None:
    a = await create(client, world.a.director_auth, title="A only")
    b = await create(client, world.b.director_auth, title="B only")
    both = await create(client, ADMIN, title="Everyone")
    assert both["cohort_ids"] == [world.a.cohort_id, world.b.cohort_id]

    listed = {c["title"]: c for c in (await client.get("/api/v1/campaigns", headers=world.a.director_auth)).json()}
    assert set(listed) == {"A only", "Everyone"}
    # Another cohort's id is not shown to a director, even on a campaign that covers both.
    assert listed["Everyone"]["cohort_ids"] == [world.a.cohort_id]
    assert {c["id"] for c in (await client.get("/api/v1/campaigns", headers=world.b.supervisor_auth)).json()} == {
        b["id"], both["id"]}
    assert {c["id"] for c in (await client.get("/api/v1/campaigns", headers=ADMIN)).json()} == {
        a["id"], b["id"], both["id"]}


async def test_other_cohorts_campaigns_are_404(client: httpx.AsyncClient, world: World) -> None:
    b = await create(client, world.b.director_auth)
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        assert (await client.get(f"/api/v1/campaigns/{b['id']}", headers=auth)).status_code == 404
        assert (await client.post(f"/api/v1/campaigns/{b['id']}/cancel", headers=auth)).status_code == 404
    response = await client.post("/api/v1/campaigns", json=campaign_body(cohort_ids=[world.b.cohort_id]),
                                 headers=world.a.director_auth)
    assert response.status_code == 404 and response.json()["error"]["field"] == "cohort_ids"
    assert (await client.get("/api/v1/campaigns/999", headers=ADMIN)).status_code == 404
    assert (await client.get("/api/v1/campaigns/0", headers=ADMIN)).status_code == 422


async def test_supervisors_only_read(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/campaigns", json=campaign_body(), headers=world.a.supervisor_auth)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    a = await create(client, world.a.director_auth)
    response = await client.post(f"/api/v1/campaigns/{a['id']}/cancel", headers=world.a.supervisor_auth)
    assert response.status_code == 403
    assert (await client.get(f"/api/v1/campaigns/{a['id']}", headers=ADMIN)).json()["state"] == "scheduled"
    assert (await client.get("/api/v1/campaigns")).status_code == 401
    assert (await client.post("/api/v1/campaigns", json=campaign_body())).status_code == 401


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"send_at": "2026-12-01T10:00:00"}, "body.send_at", "give a time zone"),
        ({"send_at": "soon"}, "body.send_at", "ISO 8601 date-time"),
        ({"texts": {"zh-Hans": "只有中文"}}, "body.texts", "missing text for en"),
        ({"texts": {**TEXTS, "fr": "Bonjour"}}, "body.texts", "unknown locale fr"),
        ({"texts": None}, "body", "give either lesson_id or texts"),
        ({"lesson_id": "specific_praise"}, "body", "give either lesson_id or texts"),
        ({"title": ""}, "body.title", "at least 1 character"),
        ({"cohort_ids": [2**31]}, "body.cohort_ids.0", "less than or equal to"),
        ({"colour": "red"}, "body.colour", "Extra inputs are not permitted"),
    ],
)
async def test_bad_campaigns_are_422(
    client: httpx.AsyncClient, world: World, changes: dict, field: str, reason: str
) -> None:
    response = await client.post("/api/v1/campaigns", json=campaign_body(**changes), headers=world.a.director_auth)
    assert response.status_code == 422, response.text
    problem = response.json()["error"]["fields"][0]
    assert problem["field"] == field and reason in problem["reason"], problem


async def test_domain_checks_name_the_field(client: httpx.AsyncClient, world: World) -> None:
    cases = [
        ({"send_at": "2026-11-23T04:00:00Z"}, "send_at", "must be in the future"),
        ({"texts": None, "lesson_id": "no_such_lesson"}, "lesson_id", "unknown lesson 'no_such_lesson'"),
        ({"cohort_ids": []}, "cohort_ids", "no cohorts to send to"),
    ]
    await client.post("/api/v1/lessons", json=lesson_body("retired_one"), headers=ADMIN)
    await client.post("/api/v1/lessons/retired_one/retire", headers=ADMIN)
    cases.append(({"texts": None, "lesson_id": "retired_one"}, "lesson_id", "lesson is retired"))
    for changes, field, message in cases:
        response = await client.post("/api/v1/campaigns", json=campaign_body(**changes), headers=world.a.director_auth)
        assert response.status_code == 422, response.text
        error = response.json()["error"]
        assert (error["field"], error["message"]) == (field, message)


async def test_a_lesson_campaign_carries_the_current_version(client: httpx.AsyncClient, world: World) -> None:
    await client.post("/api/v1/lessons", json=lesson_body(), headers=ADMIN)
    await client.put("/api/v1/lessons/praise_the_deed", json=lesson_body(topics=["praise", "winter"]), headers=ADMIN)
    campaign = await create(client, world.a.director_auth, texts=None, lesson_id="praise_the_deed")
    assert (campaign["lesson_id"], campaign["lesson_version"], campaign["texts"]) == ("praise_the_deed", 2, {})


async def test_cancel_before_planning(client: httpx.AsyncClient, world: World) -> None:
    campaign = await create(client, world.a.director_auth)
    response = await client.post(f"/api/v1/campaigns/{campaign['id']}/cancel", headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["withdrawn"] == 0
    assert body["campaign"]["state"] == "cancelled" and body["campaign"]["cancelled_at"] == "2026-11-23T04:00:00Z"

    again = await client.post(f"/api/v1/campaigns/{campaign['id']}/cancel", headers=world.a.director_auth)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_cancelled"


async def test_cancel_after_planning_withdraws_pending_messages(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await add_household(sessionmaker, clock, world.a.cohort_id)  # cohort A: two guardians now
    campaign = await create(client, ADMIN, cohort_ids=[world.a.cohort_id, world.b.cohort_id])
    assert await plan(sessionmaker, clock) == 3

    url = f"/api/v1/campaigns/{campaign['id']}"
    detail = (await client.get(url, headers=ADMIN)).json()
    assert detail["state"] == "planned" and detail["deliveries"] == {**NO_DELIVERIES, "pending": 3}
    # A director counts only their own cohort's messages.
    assert (await client.get(url, headers=world.a.director_auth)).json()["deliveries"] == {**NO_DELIVERIES, "pending": 2}
    # …and cannot cancel a campaign that also goes to other cohorts.
    response = await client.post(f"{url}/cancel", headers=world.a.director_auth)
    assert response.status_code == 403

    response = await client.post(f"{url}/cancel", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["withdrawn"] == 3
    assert (await client.get(url, headers=ADMIN)).json()["deliveries"] == {**NO_DELIVERIES, "cancelled": 3}


async def test_an_already_sent_campaign_cannot_be_cancelled(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    campaign = await create(client, world.a.director_auth)
    assert await plan(sessionmaker, clock) == 1
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Delivery).where(Delivery.kind == "campaign").values(state="sent",
                                                                                          sent_at=clock()))
    url = f"/api/v1/campaigns/{campaign['id']}"
    response = await client.post(f"{url}/cancel", headers=world.a.director_auth)
    assert response.status_code == 409 and response.json()["error"]["code"] == "already_sent"
    detail = (await client.get(url, headers=world.a.director_auth)).json()
    assert detail["state"] == "planned" and detail["deliveries"] == {**NO_DELIVERIES, "sent": 1}
