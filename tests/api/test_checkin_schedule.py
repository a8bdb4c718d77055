"""A cohort's check-in calendar: read with each questionnaire's next slot and cycle, replaced by
its directors or an admin, checked against the questionnaires in use, and followed by the tick."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.checkin.planning import plan_due_checkins
from core.clock import FrozenClock
from core.models import CheckIn
from tests.api.checkin_data import load_questionnaires_and_lessons
from tests.api.helpers import ADMIN, World

WEEKLY = {"every": "week", "day": "sun", "time": "19:00", "expires_after_days": 3}
MONTHLY = {"every": "month", "day": "sat", "week": 1, "time": "10:00", "expires_after_days": 3}
QUARTERLY = {"every": "quarter", "day": "sat", "week": 2, "time": "10:00", "expires_after_days": 3}


@pytest.fixture
async def loaded(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await load_questionnaires_and_lessons(sessionmaker, clock)


def url(world_side) -> str:  # type: ignore[no-untyped-def]
    return f"/api/v1/cohorts/{world_side.cohort_id}/checkin-schedule"


async def test_a_new_cohort_gets_the_default_calendar_even_without_content(
    client: httpx.AsyncClient, world: World
) -> None:
    # Now is Monday 23 November 2026, 12:00 in Shanghai; nothing is loaded, so nothing would go out.
    schedule = (await client.get(url(world.a), headers=world.a.supervisor_auth)).json()
    assert schedule == {"cohort_id": world.a.cohort_id, "timezone": "Asia/Shanghai", "entries": [
        {"questionnaire_id": "weekly_checkin", "questionnaire_version": None, "entry": {**WEEKLY, "week": None},
         "next_at": "2026-11-29T11:00:00Z", "next_local": "2026-11-29T19:00:00+08:00", "cycle": "2026-W48"},
        {"questionnaire_id": "psc17", "questionnaire_version": None, "entry": MONTHLY,
         "next_at": "2026-12-05T02:00:00Z", "next_local": "2026-12-05T10:00:00+08:00", "cycle": "2026-12"},
        {"questionnaire_id": "who5", "questionnaire_version": None, "entry": QUARTERLY,
         "next_at": "2027-01-09T02:00:00Z", "next_local": "2027-01-09T10:00:00+08:00", "cycle": "2027-Q1"},
    ]}


@pytest.mark.usefixtures("loaded")
async def test_director_replaces_the_calendar(client: httpx.AsyncClient, world: World) -> None:
    body = {"psc17": {"every": "month", "day": "sun", "time": "09:30"},
            "weekly_checkin": {"every": "week", "day": "wed", "time": "20:00", "expires_after_days": 2}}
    response = await client.put(url(world.a), json=body, headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    expected = {"cohort_id": world.a.cohort_id, "timezone": "Asia/Shanghai", "entries": [
        {"questionnaire_id": "weekly_checkin", "questionnaire_version": 2,
         "entry": {"every": "week", "day": "wed", "week": None, "time": "20:00", "expires_after_days": 2},
         "next_at": "2026-11-25T12:00:00Z", "next_local": "2026-11-25T20:00:00+08:00", "cycle": "2026-W48"},
        {"questionnaire_id": "psc17", "questionnaire_version": 2,
         "entry": {"every": "month", "day": "sun", "week": 1, "time": "09:30", "expires_after_days": 3},
         "next_at": "2026-12-06T01:30:00Z", "next_local": "2026-12-06T09:30:00+08:00", "cycle": "2026-12"},
    ]}
    assert response.json() == expected
    assert (await client.get(url(world.a), headers=world.a.supervisor_auth)).json() == expected
    cohort = (await client.get(f"/api/v1/cohorts/{world.a.cohort_id}", headers=ADMIN)).json()
    assert cohort["checkin_schedule"] == {
        "psc17": {"every": "month", "day": "sun", "week": 1, "time": "09:30", "expires_after_days": 3},
        "weekly_checkin": {"every": "week", "day": "wed", "time": "20:00", "expires_after_days": 2}}
    # The other cohort keeps its own.
    assert len((await client.get(url(world.b), headers=ADMIN)).json()["entries"]) == 3

    # {} stops the cohort's check-ins — beyond the default safety floor, until an admin allows it.
    refused = await client.put(url(world.a), json={}, headers=ADMIN)
    assert refused.status_code == 422 and refused.json()["error"]["code"] == "beyond_safety_floor"
    assert (await client.put("/api/v1/safety-floor", json={"checkins_at_least": "none"}, headers=ADMIN)).status_code == 200
    stopped = await client.put(url(world.a), json={}, headers=ADMIN)
    assert stopped.status_code == 200 and stopped.json()["entries"] == []
    assert (await client.get(f"/api/v1/cohorts/{world.a.cohort_id}", headers=ADMIN)).json()["checkin_schedule"] == {}

    admin_id = (await client.get("/api/v1/me", headers=ADMIN)).json()["id"]
    entries = (await client.get("/api/v1/audit", params={"entity": "cohort"}, headers=ADMIN)).json()
    assert [(e["action"], e["staff_id"], e["entity_id"], e["cohort_id"], e["detail"]) for e in entries] == [
        ("update", admin_id, world.a.cohort_id, world.a.cohort_id, {"fields": ["checkin_schedule"]}),
        ("update", world.a.director["id"], world.a.cohort_id, world.a.cohort_id, {"fields": ["checkin_schedule"]}),
    ]


async def test_who_may_read_and_replace_it(client: httpx.AsyncClient, world: World) -> None:
    response = await client.put(url(world.a), json={}, headers=world.a.supervisor_auth)
    assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden"
    for method in ("GET", "PUT"):
        response = await client.request(method, url(world.b), json={} if method == "PUT" else None,
                                        headers=world.a.director_auth)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", method
        assert (await client.request(method, url(world.a))).status_code == 401
    assert (await client.get("/api/v1/cohorts/999/checkin-schedule", headers=ADMIN)).status_code == 404
    assert len((await client.get(url(world.a), headers=ADMIN)).json()["entries"]) == 3


@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"nope": {"every": "week", "day": "sun", "time": "19:00"}}, "checkin_schedule.nope",
         "unknown questionnaire 'nope'"),
        ({"psc17": {"every": "month", "day": "funday", "time": "10:00"}}, "body.psc17.day", "Input should be 'mon'"),
        ({"psc17": {"every": "month", "day": "sat", "time": "25:00"}}, "body.psc17.time",
         "must be a time of day HH:MM from 00:00 to 23:59"),
        ({"weekly_checkin": {"every": "week", "day": "sun", "week": 2, "time": "19:00"}}, "body.weekly_checkin.week",
         "only for monthly or quarterly check-ins"),
        ({"psc17": {"every": "month", "day": "sat", "week": 5, "time": "10:00"}}, "body.psc17.week",
         "less than or equal to 4"),
        ({"psc17": {"every": "fortnight", "day": "sat", "time": "10:00"}}, "body.psc17.every", "Input should be"),
        ({"PSC17": {"every": "month", "day": "sat", "time": "10:00"}}, "body", "'PSC17' is not a questionnaire id"),
    ],
    ids=["unknown-questionnaire", "bad-day", "bad-time", "week-on-weekly", "week-5", "bad-every", "bad-id"],
)
async def test_a_bad_calendar_is_422_naming_the_field(
    client: httpx.AsyncClient, world: World, body: dict, field: str, reason: str
) -> None:
    response = await client.put(url(world.a), json=body, headers=world.a.director_auth)
    assert response.status_code == 422, response.text
    [problem] = response.json()["error"]["fields"]
    assert problem["field"] == field and reason in problem["reason"]
    assert len((await client.get(url(world.a), headers=ADMIN)).json()["entries"]) == 3


@pytest.mark.usefixtures("loaded")
async def test_retired_and_unknown_questionnaires_are_refused_everywhere(
    client: httpx.AsyncClient, world: World
) -> None:
    assert (await client.post("/api/v1/questionnaires/who5/retire", headers=ADMIN)).status_code == 200
    body = {"who5": QUARTERLY, "nope": WEEKLY, "psc17": MONTHLY}
    problems = [{"field": "checkin_schedule.who5", "reason": "questionnaire 'who5' is retired"},
                {"field": "checkin_schedule.nope", "reason": "unknown questionnaire 'nope'"}]
    response = await client.put(url(world.a), json=body, headers=ADMIN)
    assert response.status_code == 422 and response.json()["error"]["fields"] == problems
    response = await client.patch(f"/api/v1/cohorts/{world.a.cohort_id}", json={"checkin_schedule": body},
                                  headers=ADMIN)
    assert response.status_code == 422 and response.json()["error"]["fields"] == problems
    response = await client.post("/api/v1/cohorts", json={"name": "New", "checkin_schedule": body}, headers=ADMIN)
    assert response.status_code == 422 and response.json()["error"]["fields"] == problems
    # The calendar stored before the retirement still names it: it is shown as not sent.
    entries = (await client.get(url(world.a), headers=ADMIN)).json()["entries"]
    assert [(e["questionnaire_id"], e["questionnaire_version"]) for e in entries] == [
        ("weekly_checkin", 2), ("psc17", 2), ("who5", None)]

    created = await client.post("/api/v1/cohorts", json={"name": "New", "checkin_schedule": {"psc17": MONTHLY}},
                                headers=ADMIN)
    assert created.status_code == 201 and created.json()["checkin_schedule"] == {"psc17": MONTHLY}
    patched = await client.patch(f"/api/v1/cohorts/{world.a.cohort_id}", headers=world.a.director_auth,
                                 json={"checkin_schedule": {"weekly_checkin": WEEKLY}})
    assert patched.status_code == 200 and patched.json()["checkin_schedule"] == {"weekly_checkin": WEEKLY}


@pytest.mark.usefixtures("loaded")
async def test_the_tick_follows_the_calendar(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Monday 12:00 in Shanghai is now: cohort A's weekly check-in is due, cohort B's is on Sunday.
    body = {"weekly_checkin": {"every": "week", "day": "mon", "time": "12:00"}}
    assert (await client.put(url(world.a), json=body, headers=world.a.director_auth)).status_code == 200
    allow_stopping = await client.put("/api/v1/safety-floor", json={"checkins_at_least": "none"}, headers=ADMIN)
    assert allow_stopping.status_code == 200
    assert (await client.put(url(world.b), json={}, headers=world.b.director_auth)).status_code == 200
    result = await plan_due_checkins(sessionmaker, now=clock())
    assert (result.rounds, result.checkins, result.deliveries) == (1, 1, 1)
    async with sessionmaker() as session:
        rows = (await session.execute(select(CheckIn.child_id, CheckIn.questionnaire_version, CheckIn.cycle))).all()
    assert rows == [(world.a.child_id, 2, "2026-W48")]
