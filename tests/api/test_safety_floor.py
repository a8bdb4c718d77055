"""The safety floor (issue #16, point 6): admins set the most lenient escalation times and the
least frequent check-ins a cohort may have; directors — and admins editing a cohort — may
tighten, never loosen past it, and stopping every check-in is beyond it unless the floor allows.
Setting it is for admins and audited; a floor above a cohort's settings names that cohort."""
from __future__ import annotations

import httpx
import pytest

from core.cohorts.floor import SafetyFloor, alert_policy_problems, checkin_schedule_problems
from tests.api.checkin_data import load_shipped_questionnaires
from tests.api.helpers import ADMIN, World

URL = "/api/v1/safety-floor"


@pytest.fixture
async def loaded(sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    await load_shipped_questionnaires(sessionmaker, clock)


def cohort_url(world_side) -> str:  # type: ignore[no-untyped-def]
    return f"/api/v1/cohorts/{world_side.cohort_id}"


async def test_the_default_floor_is_readable_by_every_staff_member(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(URL, headers=world.a.director_auth)
    assert response.status_code == 200
    assert response.json() == {"ack_minutes": {"red": 120, "orange": 2880, "yellow": 10080},
                               "checkins_at_least": "month", "updated_at": None, "updated_by_staff_id": None}


@pytest.mark.usefixtures("loaded")
async def test_a_director_cannot_switch_off_the_safety_net(client: httpx.AsyncClient, world: World) -> None:
    # Red escalation after 7 days: refused with the reason.
    week = {"alert_policy": {"ack_minutes": {"red": 7 * 24 * 60}}}
    response = await client.patch(cohort_url(world.a), json=week, headers=world.a.director_auth)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "beyond_safety_floor"
    assert response.json()["error"]["fields"] == [{
        "field": "alert_policy.ack_minutes.red",
        "reason": "the safety floor allows at most 2 h for red escalation (120 minutes); 10080 asked"}]
    # Every severity at once.
    lax = {"alert_policy": {"ack_minutes": {"red": 121, "orange": 2881, "yellow": 10081}}}
    response = await client.patch(cohort_url(world.a), json=lax, headers=world.a.director_auth)
    assert [f["field"] for f in response.json()["error"]["fields"]] == [
        "alert_policy.ack_minutes.red", "alert_policy.ack_minutes.orange", "alert_policy.ack_minutes.yellow"]
    assert "at most 2 days for orange" in response.text and "at most 7 days for yellow" in response.text
    # Stopping every check-in, by PATCH or PUT: beyond the floor.
    for response in (
        await client.patch(cohort_url(world.a), json={"checkin_schedule": {}}, headers=world.a.director_auth),
        await client.put(f"{cohort_url(world.a)}/checkin-schedule", json={}, headers=world.a.director_auth),
    ):
        assert response.status_code == 422 and response.json()["error"]["fields"] == [{
            "field": "checkin_schedule",
            "reason": "the safety floor does not allow stopping every check-in: at least one every month is needed"}]
    # Only a quarterly questionnaire left: less often than monthly.
    quarterly = {"who5": {"every": "quarter", "day": "sat", "week": 2, "time": "10:00"}}
    response = await client.put(f"{cohort_url(world.a)}/checkin-schedule", json=quarterly,
                                headers=world.a.director_auth)
    assert response.status_code == 422 and "the most frequent here is every quarter" in response.text
    # Nothing changed.
    cohort = (await client.get(cohort_url(world.a), headers=ADMIN)).json()
    assert cohort["alert_policy"]["ack_minutes"]["red"] == 60 and len(cohort["checkin_schedule"]) == 3
    # Admins editing a cohort are held to the same floor; a new cohort too.
    assert (await client.patch(cohort_url(world.a), json=week, headers=ADMIN)).status_code == 422
    assert (await client.post("/api/v1/cohorts", json={"name": "C", **week}, headers=ADMIN)).status_code == 422


@pytest.mark.usefixtures("loaded")
async def test_directors_may_tighten(client: httpx.AsyncClient, world: World) -> None:
    tight = {"alert_policy": {"ack_minutes": {"red": 15, "orange": 120, "yellow": 1440}}}
    response = await client.patch(cohort_url(world.a), json=tight, headers=world.a.director_auth)
    assert response.status_code == 200 and response.json()["alert_policy"]["ack_minutes"]["red"] == 15
    at_the_floor = {"alert_policy": {"ack_minutes": {"red": 120, "orange": 2880, "yellow": 10080}}}
    assert (await client.patch(cohort_url(world.a), json=at_the_floor, headers=world.a.director_auth)).status_code == 200
    monthly = {"psc17": {"every": "month", "day": "sat", "week": 1, "time": "10:00"}}
    response = await client.put(f"{cohort_url(world.a)}/checkin-schedule", json=monthly, headers=world.a.director_auth)
    assert response.status_code == 200


async def test_only_admins_set_the_floor_and_it_is_audited(client: httpx.AsyncClient, world: World) -> None:
    relaxed = {"ack_minutes": {"red": 240, "orange": 2880, "yellow": 10080}, "checkins_at_least": "none"}
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        assert (await client.put(URL, json=relaxed, headers=auth)).status_code == 403
    response = await client.put(URL, json=relaxed, headers=ADMIN)
    assert response.status_code == 200
    admin_id = (await client.get("/api/v1/me", headers=ADMIN)).json()["id"]
    assert response.json() == {**relaxed, "updated_at": "2026-11-23T04:00:00Z", "updated_by_staff_id": admin_id}
    # Now 4 h for red, and stopping check-ins, are allowed; 4 h 1 min is not.
    assert (await client.patch(cohort_url(world.a), json={"alert_policy": {"ack_minutes": {"red": 240}}},
                               headers=world.a.director_auth)).status_code == 200
    assert (await client.put(f"{cohort_url(world.a)}/checkin-schedule", json={},
                             headers=world.a.director_auth)).status_code == 200
    response = await client.patch(cohort_url(world.b), json={"alert_policy": {"ack_minutes": {"red": 241}}},
                                  headers=world.b.director_auth)
    assert response.status_code == 422 and "at most 4 h for red" in response.text
    entries = (await client.get("/api/v1/audit", params={"entity": "safety_floor"}, headers=ADMIN)).json()
    assert [(e["staff_id"], e["action"], e["detail"]["after"]) for e in entries] == [(admin_id, "update", relaxed)]


async def test_a_floor_above_a_cohorts_settings_names_the_cohort(client: httpx.AsyncClient, world: World) -> None:
    # Cohort A's red escalation is 2 h (the floor's most); a floor of 1 h would leave it beyond.
    await client.patch(cohort_url(world.a), json={"alert_policy": {"ack_minutes": {"red": 120}}}, headers=ADMIN)
    stricter = {"ack_minutes": {"red": 60}, "checkins_at_least": "week"}
    response = await client.put(URL, json=stricter, headers=ADMIN)
    assert response.status_code == 409
    assert response.json()["error"]["message"] == (
        f"these cohorts are beyond the new floor; tighten them first: cohort {world.a.cohort_id}: "
        "alert_policy.ack_minutes.red")
    await client.patch(cohort_url(world.a), json={"alert_policy": {"ack_minutes": {"red": 60}}}, headers=ADMIN)
    assert (await client.put(URL, json=stricter, headers=ADMIN)).status_code == 200


@pytest.mark.parametrize("body", [{"ack_minutes": {"red": 0}}, {"ack_minutes": {"purple": 5}},
                                  {"checkins_at_least": "year"}, {"extra": 1}])
async def test_a_bad_floor_is_422(client: httpx.AsyncClient, body: dict) -> None:
    assert (await client.put(URL, json=body, headers=ADMIN)).status_code == 422


@pytest.mark.parametrize(
    ("schedule", "floor", "ok"),
    [
        ({"a": {"every": "week"}}, "week", True),
        ({"a": {"every": "month"}, "b": {"every": "week"}}, "week", True),
        ({"a": {"every": "month"}}, "week", False),
        ({"a": {"every": "quarter"}}, "month", False),
        ({"a": {"every": "quarter"}}, "quarter", True),
        ({}, "quarter", False),
        ({}, "none", True),
    ],
)
def test_checkin_floor_rule(schedule: dict, floor: str, ok: bool) -> None:
    assert (checkin_schedule_problems(schedule, SafetyFloor(checkins_at_least=floor)) == []) is ok  # type: ignore[arg-type]


def test_an_empty_policy_means_the_defaults_which_meet_the_default_floor() -> None:
    assert alert_policy_problems({}, SafetyFloor()) == []
