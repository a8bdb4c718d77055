"""Acting on alerts through the API: acknowledge (idempotent, the first acknowledger stays) and
resolve (the case closes with its last alert and the follow-up check-in is scheduled), by the
cohort's directors and by its supervisors, who receive escalations; another cohort's alert is
not found; bad input is a 422 naming the field; a resolved alert is a 409."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.alerts import notify
from core.clock import FrozenClock
from core.models import CheckIn
from tests.api.checkin_data import link_telegram, load_shipped_questionnaires, weekly_alerts
from tests.api.helpers import ADMIN, World

URL = "/api/v1/alerts"


def z(at) -> str:  # type: ignore[no-untyped-def]
    return at.isoformat().replace("+00:00", "Z")


@dataclass
class Raised:
    a_red: int  # cohort A's child: the weekly safety question answered "talked of hurting themselves"
    b_red: int  # the same in cohort B


@pytest.fixture
async def raised(world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Raised:
    await load_shipped_questionnaires(sessionmaker, clock)
    await link_telegram(sessionmaker, world.a.director["id"], world.b.director["id"])
    ids = []
    for side in (world.a, world.b):
        _, fired = await weekly_alerts(sessionmaker, clock, cohort_id=side.cohort_id, child_id=side.child_id,
                                       guardian_id=side.household["guardian_id"], cycle="2026-W48", safety=1)
        assert set(fired) == {"safety_self_harm"}
        ids.append(fired["safety_self_harm"])
    return Raised(*ids)


async def test_acknowledge_then_resolve_closes_the_case_and_schedules_the_followup(
    client: httpx.AsyncClient, world: World, raised: Raised, sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    opened = clock()
    director, supervisor = world.a.director, world.a.supervisor
    acked_at = clock.advance(minutes=12)
    response = await client.post(f"{URL}/{raised.a_red}/acknowledge", headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    alert = response.json()
    case_id = alert["case_id"]
    assert case_id is not None
    assert {k: alert[k] for k in ("status", "acknowledged_at", "acknowledged_by_staff_id", "escalation_level",
                                  "escalate_at", "resolved_at", "outcome")} == {
        "status": "acknowledged", "acknowledged_at": z(acked_at), "acknowledged_by_staff_id": director["id"],
        "escalation_level": 0, "escalate_at": None, "resolved_at": None, "outcome": None}

    # A second acknowledgement (the supervisor, a minute later) is harmless: the first one stays.
    clock.advance(minutes=1)
    again = await client.post(f"{URL}/{raised.a_red}/acknowledge", headers=world.a.supervisor_auth)
    assert again.status_code == 200
    assert (again.json()["acknowledged_by_staff_id"], again.json()["acknowledged_at"]) == (director["id"], z(acked_at))

    resolved_at = clock.advance(minutes=30)
    response = await client.post(f"{URL}/{raised.a_red}/resolve", json={"outcome": "safe_now", "note": "  见到孩子了，很安全。 "},
                                 headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body["alert"][k] for k in ("status", "outcome", "resolved_at", "resolved_by_staff_id",
                                          "acknowledged_by_staff_id")} == {
        "status": "resolved", "outcome": "safe_now", "resolved_at": z(resolved_at),
        "resolved_by_staff_id": director["id"], "acknowledged_by_staff_id": director["id"]}
    assert (body["case_id"], body["case_closed"]) == (case_id, True)
    [followup_id] = body["followup_check_in_ids"]
    async with sessionmaker() as session:
        followup = await session.get(CheckIn, followup_id)
        assert followup is not None
        # The cohort's default follow-up interval: 14 days.
        assert (followup.case_id, followup.child_id, followup.questionnaire_id, followup.due_at, followup.state) == (
            case_id, world.a.child_id, "weekly_checkin", resolved_at + timedelta(days=14), "open")

    case = (await client.get(f"/api/v1/cases/{case_id}", headers=world.a.director_auth)).json()
    assert {k: case["case"][k] for k in ("status", "outcome", "closed_at", "closed_by_staff_id",
                                         "followup_due_at", "responsible_staff_id")} == {
        "status": "closed", "outcome": "safe_now", "closed_at": z(resolved_at), "closed_by_staff_id": director["id"],
        "followup_due_at": z(resolved_at + timedelta(days=14)), "responsible_staff_id": director["id"]}
    assert [(e["kind"], e["at"], e["staff_name"], e["alert_id"], e["detail"], e["note"]) for e in case["events"]] == [
        ("alert", z(opened), None, raised.a_red, {"severity": "red", "rule_id": "safety_self_harm"}, None),
        ("acknowledged", z(acked_at), "Director Village A", raised.a_red, {"minutes": 12.0}, None),
        ("resolved", z(resolved_at), "Director Village A", raised.a_red, {"outcome": "safe_now"}, "见到孩子了，很安全。"),
        ("closed", z(resolved_at), "Director Village A", None, {"outcome": "safe_now"}, None),
        ("followup_scheduled", z(resolved_at), "Director Village A", None,
         {"due_at": (resolved_at + timedelta(days=14)).isoformat(), "questionnaire": "weekly_checkin",
          "check_in_ids": [followup_id]}, None),
    ]
    assert [a["id"] for a in case["alerts"]] == [raised.a_red]

    # Done is done: acknowledging or resolving it again is a conflict.
    for action, body_ in (("acknowledge", None), ("resolve", {"outcome": "other"})):
        response = await client.post(f"{URL}/{raised.a_red}/{action}", json=body_, headers=world.a.supervisor_auth)
        assert response.status_code == 409 and response.json()["error"]["code"] == "resolved"
    assert supervisor["id"] not in {e["staff_id"] for e in case["events"]}  # the harmless ack wrote nothing


async def test_a_case_with_two_alerts_stays_open_until_the_last_is_resolved(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await load_shipped_questionnaires(sessionmaker, clock)
    await link_telegram(sessionmaker, world.a.director["id"])
    a = world.a
    _, fired = await weekly_alerts(sessionmaker, clock, cohort_id=a.cohort_id, child_id=a.child_id,
                                   guardian_id=a.household["guardian_id"], cycle="2026-W48", mood=2, parent_contact=2)
    assert set(fired) == {"low_mood", "no_parent_contact"}
    first = await client.post(f"{URL}/{fired['low_mood']}/resolve", json={"outcome": "family_supported"},
                              headers=a.director_auth)
    assert first.status_code == 200, first.text
    case_id = first.json()["case_id"]
    assert (first.json()["case_closed"], first.json()["followup_check_in_ids"]) == (False, [])
    case = (await client.get(f"/api/v1/cases/{case_id}", headers=a.director_auth)).json()
    assert (case["case"]["status"], sorted(al["status"] for al in case["alerts"])) == ("open", ["open", "resolved"])
    assert (await client.get(f"{URL}/{fired['no_parent_contact']}", headers=a.director_auth)).json()["case_id"] == case_id

    last = await client.post(f"{URL}/{fired['no_parent_contact']}/resolve", json={"outcome": "family_supported"},
                             headers=a.director_auth)
    assert (last.json()["case_id"], last.json()["case_closed"], len(last.json()["followup_check_in_ids"])) == (
        case_id, True, 1)


async def test_supervisors_act_on_an_escalated_alert(
    client: httpx.AsyncClient, world: World, raised: Raised, sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    await link_telegram(sessionmaker, world.a.supervisor["id"])
    clock.advance(minutes=60)  # a red alert waits an hour at most (the default policy)
    async with sessionmaker() as session, session.begin():
        assert await notify.escalate_due(session, now=clock()) == 2  # A's and B's
    read = (await client.get(f"{URL}/{raised.a_red}", headers=world.a.supervisor_auth)).json()
    assert (read["escalation_level"], read["escalate_at"]) == (1, z(clock() + timedelta(minutes=60)))

    acked_at = clock.advance(minutes=5)
    response = await client.post(f"{URL}/{raised.a_red}/acknowledge", headers=world.a.supervisor_auth)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in ("status", "acknowledged_by_staff_id", "acknowledged_at",
                                            "escalation_level", "escalate_at")} == {
        "status": "acknowledged", "acknowledged_by_staff_id": world.a.supervisor["id"], "acknowledged_at": z(acked_at),
        "escalation_level": 1, "escalate_at": None}
    response = await client.post(f"{URL}/{raised.a_red}/resolve", json={"outcome": "referred"},
                                 headers=world.a.supervisor_auth)
    assert response.status_code == 200, response.text
    assert (response.json()["alert"]["resolved_by_staff_id"], response.json()["case_closed"]) == (
        world.a.supervisor["id"], True)
    # An admin acts on any cohort's alert.
    assert (await client.post(f"{URL}/{raised.b_red}/acknowledge", headers=ADMIN)).status_code == 200


async def test_another_cohorts_alert_is_not_found_and_a_token_is_needed(
    client: httpx.AsyncClient, world: World, raised: Raised
) -> None:
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        assert (await client.post(f"{URL}/{raised.b_red}/acknowledge", headers=auth)).status_code == 404
        response = await client.post(f"{URL}/{raised.b_red}/resolve", json={"outcome": "safe_now"}, headers=auth)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert (await client.post(f"{URL}/999999/acknowledge", headers=ADMIN)).status_code == 404
    assert (await client.post(f"{URL}/{raised.a_red}/acknowledge")).status_code == 401
    assert (await client.post(f"{URL}/{raised.a_red}/resolve", json={"outcome": "safe_now"})).status_code == 401
    # Nothing happened to B's alert.
    b = (await client.get(f"{URL}/{raised.b_red}", headers=ADMIN)).json()
    assert (b["status"], b["acknowledged_at"]) == ("open", None)


BAD_BODIES = [({"outcome": "fixed"}, "body.outcome"), ({}, "body.outcome"),
              ({"outcome": "safe_now", "colour": "green"}, "body.colour"),
              ({"outcome": "safe_now", "note": "x" * 2001}, "body.note"), ({"outcome": "safe_now", "note": 5}, "body.note")]


async def test_bad_resolve_bodies_are_422_naming_the_field(client: httpx.AsyncClient, world: World,
                                                           raised: Raised) -> None:
    named = []
    for body, _ in BAD_BODIES:
        response = await client.post(f"{URL}/{raised.a_red}/resolve", json=body, headers=world.a.director_auth)
        assert response.status_code == 422, (body, response.text)
        named.append([f["field"] for f in response.json()["error"]["fields"]])
    assert named == [[field] for _, field in BAD_BODIES]
    assert (await client.get(f"{URL}/{raised.a_red}", headers=ADMIN)).json()["status"] == "open"


async def test_a_note_of_exactly_2000_characters_is_kept(
    client: httpx.AsyncClient, world: World, raised: Raised, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.post(f"{URL}/{raised.a_red}/resolve", json={"outcome": "other", "note": "好" * 2000},
                                 headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    case = (await client.get(f"/api/v1/cases/{response.json()['case_id']}", headers=ADMIN)).json()
    assert [len(e["note"]) for e in case["events"] if e["kind"] == "resolved"] == [2000]
    async with sessionmaker() as session:
        assert (await session.scalars(select(CheckIn.id).where(CheckIn.case_id == response.json()["case_id"]))).all() \
            == response.json()["followup_check_in_ids"]
