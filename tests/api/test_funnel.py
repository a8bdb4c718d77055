"""The screening funnel of a cohort on a known history, built through the real services (check-ins
opened and answered, alerts raised, escalated, acknowledged, referred, resolved through the
API), with things just before and just after the period and in the other cohort that must not
count. Scoped like the cohort; the period is validated."""
from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.alerts import notify
from core.checkin.service import expire_checkins
from core.clock import FrozenClock
from tests.api.checkin_data import (
    answer, link_telegram, load_shipped_questionnaires, mark_sent, open_round, weekly, weekly_alerts,
)
from tests.api.helpers import ADMIN, World, add_household

# 2026-11-01 .. 2026-11-20 in Asia/Shanghai (UTC+8): [10-31 16:00Z, 11-20 16:00Z).
PERIOD = {"from": "2026-11-01", "to": "2026-11-20"}


def utc(month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, month, day, hour, minute, tzinfo=timezone.utc)


def url(cohort_id: int) -> str:
    return f"/api/v1/cohorts/{cohort_id}/reports/funnel"


async def build_history(client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession],
                        clock: FrozenClock) -> None:
    a, b = world.a, world.b
    await load_shipped_questionnaires(sessionmaker, clock)
    await link_telegram(sessionmaker, a.director["id"], a.supervisor["id"], b.director["id"])
    homes = [a.household] + [await add_household(sessionmaker, clock, a.cohort_id) for _ in range(5)]
    kids = [h["child_ids"][0] for h in homes]
    grans = [h["guardian_id"] for h in homes]
    director = a.director_auth

    async def ack(alert_id: int) -> None:
        assert (await client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=director)).status_code == 200

    # Before the period (23:00 in Shanghai on 10-31): a red alert on child 1, acknowledged, and a
    # referral on its case — which R1 joins later, but was referred before R1 opened.
    clock.set(utc(10, 31, 15))
    _, old = await weekly_alerts(sessionmaker, clock, cohort_id=a.cohort_id, child_id=kids[0],
                                 guardian_id=grans[0], cycle="2026-W44", safety=2)
    clock.set(utc(10, 31, 15, 5))
    await ack(old["safety_harmed_by_someone"])
    clock.set(utc(10, 31, 15, 30))
    case_1 = (await client.get(f"/api/v1/alerts/{old['safety_harmed_by_someone']}", headers=director)).json()["case_id"]
    assert (await client.post(f"/api/v1/cases/{case_1}/referrals", json={"to": "police"},
                              headers=director)).status_code == 201

    # The week of 11-10: six check-ins in A (c6's message failed), one in B.
    clock.set(utc(11, 10, 2))
    c = await open_round(sessionmaker, clock, cohort_id=a.cohort_id, questionnaire_id="weekly_checkin",
                         cycle="2026-W46")
    assert len(c) == 6
    await mark_sent(sessionmaker, clock, c[:5])
    await mark_sent(sessionmaker, clock, c[5:], state="failed")
    _, in_b = await weekly_alerts(sessionmaker, clock, cohort_id=b.cohort_id, child_id=b.child_id,
                                  guardian_id=b.household["guardian_id"], cycle="2026-W46", safety=1)

    async def answered(n: int, **answers: int) -> None:
        await answer(sessionmaker, clock, checkin_id=c[n], guardian_id=grans[n], answers=weekly(**answers))

    await answered(0, safety=1)  # 02:00 R1 red
    r1 = await alert_of(client, kids[0], "safety_self_harm")
    clock.set(utc(11, 10, 3))
    await answered(1, upsetting_event=2)  # 03:00 O1 orange
    o1 = await alert_of(client, kids[1], "upsetting_event_worried")
    async with sessionmaker() as session, session.begin():
        assert await notify.escalate_due(session, now=clock()) == 2  # R1 (an hour unacknowledged), and B's
    clock.set(utc(11, 10, 3, 20))
    await ack(o1)  # 20 minutes
    clock.set(utc(11, 10, 3, 30))
    await ack(r1)  # 90 minutes
    clock.set(utc(11, 10, 4))
    await answered(2, mood=2, parent_contact=2)  # 04:00 two yellows, one case
    ya = await alert_of(client, kids[2], "low_mood")
    yb = await alert_of(client, kids[2], "no_parent_contact")
    clock.set(utc(11, 10, 4, 10))
    await ack(ya)  # 10 minutes
    clock.set(utc(11, 10, 4, 30))
    case_2 = (await client.get(f"/api/v1/alerts/{o1}", headers=director)).json()["case_id"]
    assert (await client.post(f"/api/v1/cases/{case_2}/referrals", json={"to": "school_counsellor"},
                              headers=director)).status_code == 201
    clock.set(utc(11, 10, 5))
    resolved = await client.post(f"/api/v1/alerts/{yb}/resolve", json={"outcome": "family_supported"},
                                 headers=director)  # 60 minutes: resolving acknowledges
    assert resolved.status_code == 200 and resolved.json()["case_closed"] is False
    await answered(3)  # 05:00 nothing to worry about
    # B's alert acknowledged (5 minutes after the others): not A's business.
    assert (await client.post(f"/api/v1/alerts/{in_b['safety_self_harm']}/acknowledge",
                              headers=b.director_auth)).status_code == 200

    # Three days on, the unanswered ones expire: c5 (reached) and c6 (never reached).
    clock.set(utc(11, 13, 3))
    async with sessionmaker() as session, session.begin():
        assert len(await expire_checkins(session, now=clock())) == 2

    # 23:00 in Shanghai on the period's last day: counts. 01:00 the next day: does not.
    clock.set(utc(11, 20, 15))
    _, late = await weekly_alerts(sessionmaker, clock, cohort_id=a.cohort_id, child_id=kids[3],
                                  guardian_id=grans[3], cycle="2026-W47", safety=3)
    assert set(late) == {"safety_not_sure"}
    clock.set(utc(11, 20, 17))
    _, after = await weekly_alerts(sessionmaker, clock, cohort_id=a.cohort_id, child_id=kids[4],
                                   guardian_id=grans[4], cycle="2026-W47", mood=2)
    clock.advance(minutes=3)
    await ack(after["low_mood"])


async def alert_of(client: httpx.AsyncClient, child_id: int, rule_id: str) -> int:
    [found] = [x["id"] for x in (await client.get("/api/v1/alerts", params={"child_id": child_id},
                                                  headers=ADMIN)).json() if x["rule_id"] == rule_id]
    return found


EXPECTED = {
    "period": {"from": "2026-11-01", "to": "2026-11-20", "timezone": "Asia/Shanghai"},
    "checkins_sent": 6,  # c1–c5 and the late one; not c6 (failed), not 10-31's, not 11-21's, not B's
    "checkins_completed": 5,  # c1–c4 and the late one
    "checkins_expired": 1,  # c5 (c6 expired too, but never reached anyone)
    "checkins_flagged": 4,  # c1, c2, c3 (two alerts, counted once), the late one
    "flagged": {"red": 1, "orange": 2, "yellow": 2},
    "acknowledged": 4,  # R1, O1, the two yellows (one by resolving)
    "referred": 1,  # O1; R1's case was referred before R1 opened
    "resolved": 1,
    "escalated": 1,  # R1
    "median_minutes_to_acknowledge": 20.0,  # of 10, 20, 60, 90: rank ⌈0.5·4⌉ = 2
    "p90_minutes_to_acknowledge": 90.0,  # rank ⌈0.9·4⌉ = 4
}


async def test_the_funnel_on_a_known_history(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await build_history(client, world, sessionmaker, clock)
    for auth in (ADMIN, world.a.director_auth, world.a.supervisor_auth):
        response = await client.get(url(world.a.cohort_id), params=PERIOD, headers=auth)
        assert response.status_code == 200, response.text
        assert response.json() == {"cohort_id": world.a.cohort_id, **EXPECTED}

    # One day more takes in the alert after midnight and its check-in (acknowledged in 3 minutes).
    wider = (await client.get(url(world.a.cohort_id), params={**PERIOD, "to": "2026-11-21"}, headers=ADMIN)).json()
    assert {k: wider[k] for k in ("checkins_sent", "checkins_completed", "checkins_flagged", "flagged", "acknowledged",
                                  "median_minutes_to_acknowledge", "p90_minutes_to_acknowledge")} == {
        "checkins_sent": 7, "checkins_completed": 6, "checkins_flagged": 5, "flagged": {"red": 1, "orange": 2, "yellow": 3},
        "acknowledged": 5, "median_minutes_to_acknowledge": 20.0, "p90_minutes_to_acknowledge": 90.0}
    # One day earlier takes in the alert of 10-31 23:00 (acknowledged in 5 minutes, since referred).
    earlier = (await client.get(url(world.a.cohort_id), params={**PERIOD, "from": "2026-10-31"}, headers=ADMIN)).json()
    assert {k: earlier[k] for k in ("checkins_sent", "flagged", "acknowledged", "referred",
                                    "median_minutes_to_acknowledge")} == {
        "checkins_sent": 7, "flagged": {"red": 2, "orange": 2, "yellow": 2}, "acknowledged": 5, "referred": 2,
        "median_minutes_to_acknowledge": 20.0}
    # Cohort B on its own: one check-in, one red alert, escalated, acknowledged three hours later.
    in_b = (await client.get(url(world.b.cohort_id), params=PERIOD, headers=world.b.supervisor_auth)).json()
    assert {k: in_b[k] for k in ("checkins_sent", "checkins_completed", "checkins_flagged", "flagged", "escalated",
                                 "median_minutes_to_acknowledge", "p90_minutes_to_acknowledge")} == {
        "checkins_sent": 1, "checkins_completed": 1, "checkins_flagged": 1, "flagged": {"red": 1, "orange": 0, "yellow": 0},
        "escalated": 1, "median_minutes_to_acknowledge": 180.0, "p90_minutes_to_acknowledge": 180.0}


async def test_an_empty_period_and_the_default_period(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(url(world.a.cohort_id), headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    # Now is 2026-11-23 12:00 in Shanghai: the last 30 days, today included.
    assert response.json() == {
        "cohort_id": world.a.cohort_id, "period": {"from": "2026-10-25", "to": "2026-11-23", "timezone": "Asia/Shanghai"},
        "checkins_sent": 0, "checkins_completed": 0, "checkins_expired": 0, "checkins_flagged": 0,
        "flagged": {"red": 0, "orange": 0, "yellow": 0}, "acknowledged": 0, "referred": 0, "resolved": 0,
        "escalated": 0, "median_minutes_to_acknowledge": None, "p90_minutes_to_acknowledge": None,
    }
    only_to = (await client.get(url(world.a.cohort_id), params={"to": "2026-03-31"}, headers=ADMIN)).json()
    assert only_to["period"] == {"from": "2026-03-02", "to": "2026-03-31", "timezone": "Asia/Shanghai"}
    only_from = (await client.get(url(world.a.cohort_id), params={"from": "2026-11-20"}, headers=ADMIN)).json()
    assert only_from["period"] == {"from": "2026-11-20", "to": "2026-11-23", "timezone": "Asia/Shanghai"}
    whole_year = await client.get(url(world.a.cohort_id), params={"from": "2025-11-23", "to": "2026-11-23"},
                                  headers=ADMIN)  # 366 days: the longest period
    assert whole_year.status_code == 200, whole_year.text


async def test_scoped_like_the_cohort(client: httpx.AsyncClient, world: World) -> None:
    for auth in (world.b.director_auth, world.b.supervisor_auth):
        response = await client.get(url(world.a.cohort_id), headers=auth)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert (await client.get(url(999999), headers=ADMIN)).status_code == 404
    assert (await client.get(url(world.a.cohort_id))).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [({"from": "2026-11-21", "to": "2026-11-20"}, "from"),
     ({"from": "2025-11-22", "to": "2026-11-23"}, "from"),  # 367 days
     ({"from": "2026-02-30"}, "query.from"), ({"to": "yesterday"}, "query.to"),
     ({"from": "11/01/2026"}, "query.from")],
)
async def test_a_bad_period_is_422(client: httpx.AsyncClient, world: World, params: dict, field: str) -> None:
    response = await client.get(url(world.a.cohort_id), params=params, headers=ADMIN)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert ([f["field"] for f in error["fields"]] if error.get("fields") else [error["field"]]) == [field]
