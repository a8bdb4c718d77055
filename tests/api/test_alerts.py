"""Reading alerts: filtered, most severe first then newest, scoped to the reader's cohorts, with
the rule's reason in the reader's language, and every read audited."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.models import Alert, Child, Household
from tests.api.checkin_data import load_questionnaires_and_lessons, shipped
from tests.api.helpers import ADMIN, World, bearer, create_cohort, create_staff

URL = "/api/v1/alerts"


@dataclass
class Alerts:
    """Raised an hour apart, in this order."""

    a_orange: int  # cohort A's child, PSC-17 internalising (open)
    a_red: int  # cohort A's child, weekly safety answer (open)
    a_guardian: int  # cohort A's grandmother, WHO-5 (open)
    a_lexicon: int  # cohort A's household, a risk word (acknowledged)
    a_resolved: int  # cohort A's child, PSC-17 attention (resolved)
    b_yellow: int  # cohort B's child, weekly low mood (open)


@pytest.fixture
async def alerts(world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Alerts:
    """Rows as raising leaves them, written directly: these tests are about reading."""
    await load_questionnaires_and_lessons(sessionmaker, clock)
    a, b = world.a, world.b
    child_a = {"subject_key": f"child:{a.child_id}", "cohort_id": a.cohort_id, "household_id": a.household["id"],
               "child_id": a.child_id}
    child_b = {"subject_key": f"child:{b.child_id}", "cohort_id": b.cohort_id, "household_id": b.household["id"],
               "child_id": b.child_id}
    grandmother = {"subject_key": f"guardian:{a.household['guardian_id']}", "cohort_id": a.cohort_id,
                   "household_id": a.household["id"], "guardian_id": a.household["guardian_id"]}
    household = {"subject_key": f"household:{a.household['id']}", "cohort_id": a.cohort_id,
                 "household_id": a.household["id"]}
    raised = [
        (child_a, "psc17", 2, "internalising_positive", "orange", "child", "open"),
        (child_a, "weekly_checkin", 2, "safety_self_harm", "red", "child", "open"),
        (grandmother, "who5", 2, "poor_wellbeing", "yellow", "guardian", "open"),
        (household, "lexicon", 1, "risk_words", "red", "child", "acknowledged"),
        (child_a, "psc17", 2, "attention_positive", "yellow", "child", "resolved"),
        (child_b, "weekly_checkin", 2, "low_mood", "yellow", "child", "open"),
    ]
    ids = []
    async with sessionmaker() as session, session.begin():
        for n, (subject, source, version, rule_id, severity, audience, status) in enumerate(raised, start=1):
            alert = Alert(**subject, questionnaire_id=source, questionnaire_version=version, rule_id=rule_id,
                          severity=severity, audience=audience, reason=f"{rule_id} (zh-Hans)", status=status,
                          evidence={"answers": {"x": 1}, "check_in_ids": [n]}, occurrences=1, created_at=clock(),
                          last_seen_at=clock())
            session.add(alert)
            await session.flush()
            ids.append(alert.id)
            clock.advance(hours=1)
    return Alerts(*ids)


async def listed(client: httpx.AsyncClient, auth: dict[str, str], **params: object) -> list[int]:
    response = await client.get(URL, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [a["id"] for a in response.json()]


async def test_most_severe_first_then_waiting_longest_and_scoped(
    client: httpx.AsyncClient, world: World, alerts: Alerts
) -> None:
    x = alerts
    # The same order as /alerts on the phone: what needs a person soonest comes first.
    assert await listed(client, ADMIN) == [x.a_red, x.a_lexicon, x.a_orange, x.a_guardian, x.b_yellow]
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        assert await listed(client, auth) == [x.a_red, x.a_lexicon, x.a_orange, x.a_guardian]
    assert await listed(client, world.b.director_auth) == [x.b_yellow]
    # History reads newest first, whatever the severity.
    assert await listed(client, ADMIN, order="newest", status=["open", "acknowledged", "resolved"]) == [
        x.b_yellow, x.a_resolved, x.a_lexicon, x.a_guardian, x.a_red, x.a_orange]
    assert await listed(client, world.a.director_auth, order="newest") == [
        x.a_lexicon, x.a_guardian, x.a_red, x.a_orange]
    bad = await client.get(URL, params={"order": "oldest"}, headers=ADMIN)
    assert bad.status_code == 422 and "order" in bad.text
    assert (await client.get(URL)).status_code == 401


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"severity": ["red", "orange"]}, ["a_red", "a_lexicon", "a_orange"]),
        ({"severity": "yellow"}, ["a_guardian"]),
        ({"status": "resolved"}, ["a_resolved"]),
        ({"status": ["open", "resolved"]}, ["a_red", "a_orange", "a_guardian", "a_resolved"]),
        ({"status": "acknowledged"}, ["a_lexicon"]),
        ("child", ["a_red", "a_orange"]),
        ("household", ["a_red", "a_lexicon", "a_orange", "a_guardian"]),
        ({"audience": "guardian"}, ["a_guardian"]),
        ({"since": "2026-11-23T14:00:00+08:00"}, ["a_lexicon", "a_guardian"]),
        ({"limit": 2, "offset": 1}, ["a_lexicon", "a_orange"]),
        # Raised 04:00 to 09:00; now is 10:00. The age of an alert: opened at least this long ago.
        ({"open_longer_than_minutes": 240}, ["a_red", "a_orange", "a_guardian"]),
        ({"open_longer_than_minutes": 300}, ["a_red", "a_orange"]),
        ({"open_longer_than_minutes": 301}, ["a_orange"]),
        ({"open_longer_than_minutes": 0}, ["a_red", "a_lexicon", "a_orange", "a_guardian"]),
        # The child (born March 2018) is 8; alerts about a guardian or a household never match.
        ({"child_age_min": 8}, ["a_red", "a_orange"]),
        ({"child_age_min": 8, "child_age_max": 8}, ["a_red", "a_orange"]),
        ({"child_age_max": 7}, []),
        ({"child_age_min": 9}, []),
        ({"child_age_min": 0, "status": ["open", "resolved"]}, ["a_red", "a_orange", "a_resolved"]),
        ("cohort", ["a_red", "a_lexicon", "a_orange", "a_guardian"]),
        ("cohort+child+resolved", ["a_red", "a_orange", "a_resolved"]),
    ],
)
async def test_filters(client: httpx.AsyncClient, world: World, alerts: Alerts, params: object,
                       expected: list[str]) -> None:
    a = world.a
    named = {"child": {"child_id": a.child_id}, "household": {"household_id": a.household["id"]},
             "cohort": {"cohort_id": a.cohort_id},
             "cohort+child+resolved": {"cohort_id": a.cohort_id, "child_id": a.child_id,
                                       "status": ["open", "acknowledged", "resolved"]}}
    query = named[params] if isinstance(params, str) else params
    assert await listed(client, a.director_auth, **query) == [getattr(alerts, name) for name in expected]


async def test_another_cohorts_alerts_are_not_found(client: httpx.AsyncClient, world: World, alerts: Alerts) -> None:
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        response = await client.get(URL, params={"cohort_id": world.b.cohort_id}, headers=auth)
        assert response.status_code == 404 and response.json()["error"]["field"] == "cohort_id"
        assert (await client.get(f"{URL}/{alerts.b_yellow}", headers=auth)).status_code == 404
    # Filtering by another cohort's child finds nothing rather than telling it exists.
    assert await listed(client, world.a.director_auth, child_id=world.b.child_id) == []
    assert (await client.get(URL, params={"cohort_id": 999}, headers=ADMIN)).status_code == 404
    assert (await client.get(f"{URL}/999999", headers=ADMIN)).status_code == 404
    assert (await client.get(f"{URL}/{alerts.a_red}")).status_code == 401


@pytest.mark.parametrize(
    ("params", "field"),
    [({"severity": "purple"}, "query.severity.0"), ({"status": "closed"}, "query.status.0"),
     ({"audience": "teacher"}, "query.audience"), ({"limit": 201}, "query.limit"), ({"limit": 0}, "query.limit"),
     ({"since": "2026-11-23T12:00:00"}, "query.since"), ({"cohort_id": 0}, "query.cohort_id"),
     ({"child_id": "x"}, "query.child_id"), ({"open_longer_than_minutes": -1}, "query.open_longer_than_minutes"),
     ({"child_age_min": -1}, "query.child_age_min"), ({"child_age_max": 26}, "query.child_age_max")],
)
async def test_bad_filters_are_422(client: httpx.AsyncClient, params: dict, field: str) -> None:
    response = await client.get(URL, params=params, headers=ADMIN)
    assert response.status_code == 422 and [f["field"] for f in response.json()["error"]["fields"]] == [field]


async def test_read_one_alert_with_the_rules_reason_in_the_readers_language(
    client: httpx.AsyncClient, world: World, alerts: Alerts
) -> None:
    response = await client.get(f"{URL}/{alerts.a_red}", headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    weekly = next(q for q in shipped().questionnaires if q.id == "weekly_checkin")
    reasons = next(r for r in weekly.rules if r.id == "safety_self_harm").reasons
    a = world.a
    assert response.json() == {
        "id": alerts.a_red, "cohort_id": a.cohort_id, "subject_key": f"child:{a.child_id}", "child_id": a.child_id,
        "household_id": a.household["id"], "guardian_id": None, "severity": "red", "audience": "child",
        "rule_id": "safety_self_harm", "source": "weekly_checkin", "source_version": 2,
        "reason": "safety_self_harm (zh-Hans)", "rule_reason": reasons["zh-Hans"], "status": "open",
        "evidence": {"answers": {"x": 1}, "check_in_ids": [2]}, "occurrences": 1,
        "created_at": "2026-11-23T05:00:00Z", "last_seen_at": "2026-11-23T05:00:00Z", "check_in_id": None,
        "case_id": None, "acknowledged_at": None, "acknowledged_by_staff_id": None, "resolved_at": None,
        "resolved_by_staff_id": None, "outcome": None, "escalation_level": 0, "escalate_at": None, "family": None,
    }
    english = await create_staff(client, "supervisor", [a.cohort_id], "Mr Wang", locale="en")
    read = (await client.get(f"{URL}/{alerts.a_red}", headers=bearer(english["credentials"]["api_token"]))).json()
    assert read["rule_reason"] == reasons["en"]
    # A risk word has no questionnaire rule behind it.
    lexicon = (await client.get(f"{URL}/{alerts.a_lexicon}", headers=ADMIN)).json()
    assert (lexicon["source"], lexicon["source_version"], lexicon["rule_reason"], lexicon["status"]) == (
        "lexicon", 1, None, "acknowledged")


async def test_every_read_is_audited(client: httpx.AsyncClient, world: World, alerts: Alerts) -> None:
    await client.get(URL, headers=world.a.director_auth)
    await client.get(URL, params={"cohort_id": world.b.cohort_id, "severity": "red"}, headers=world.b.supervisor_auth)
    await client.get(f"{URL}/{alerts.a_orange}", headers=world.a.supervisor_auth)
    await client.get(f"{URL}/{alerts.b_yellow}", headers=world.a.supervisor_auth)  # 404: nothing read, denied
    entries = (await client.get("/api/v1/audit", params={"entity": "alert"}, headers=ADMIN)).json()
    assert [(e["staff_id"], e["action"], e["entity_id"], e["cohort_id"], e["detail"]) for e in entries] == [
        (world.a.supervisor["id"], "denied", alerts.b_yellow, world.b.cohort_id,
         {"method": "GET", "route": "/api/v1/alerts/{alert_id}", "status": 404, "code": "not_found"}),
        (world.a.supervisor["id"], "read", alerts.a_orange, world.a.cohort_id, {}),
        (world.b.supervisor["id"], "read", None, world.b.cohort_id, {"ids": []}),
        (world.a.director["id"], "read", None, None,
         {"ids": [alerts.a_red, alerts.a_lexicon, alerts.a_orange, alerts.a_guardian]}),
    ]


async def test_child_age_min_above_max_is_422(client: httpx.AsyncClient) -> None:
    response = await client.get(URL, params={"child_age_min": 9, "child_age_max": 8}, headers=ADMIN)
    assert response.status_code == 422 and response.json()["error"]["field"] == "child_age_min"


async def test_child_age_counts_full_years_from_the_birth_month_in_the_cohorts_time_zone(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """At 2026-11-30 12:00 UTC it is still November in Shanghai but already December 1st on
    Kiritimati (UTC+14): a child born in December 2016 is 9 in one village and 10 in the other."""
    kiritimati = await create_cohort(client, "Line Islands", timezone="Pacific/Kiritimati")
    born = {"nov16": (world.a.cohort_id, 2016, 11), "dec16": (world.a.cohort_id, 2016, 12),
            "dec16_far": (kiritimati["id"], 2016, 12), "nov26": (world.a.cohort_id, 2026, 11)}
    ids = {}
    async with sessionmaker() as session, session.begin():
        for name, (cohort_id, year, month) in born.items():
            household = Household(cohort_id=cohort_id, created_at=clock())
            session.add(household)
            await session.flush()
            child = Child(household_id=household.id, nickname=name, birth_year=year, birth_month=month,
                          created_at=clock(), updated_at=clock())
            session.add(child)
            await session.flush()
            alert = Alert(subject_key=f"child:{child.id}", cohort_id=cohort_id, household_id=household.id,
                          child_id=child.id, questionnaire_id="weekly_checkin", questionnaire_version=2,
                          rule_id="low_mood", severity="yellow", audience="child", reason="low_mood", status="open",
                          evidence={}, occurrences=1, created_at=clock(), last_seen_at=clock())
            session.add(alert)
            await session.flush()
            ids[alert.id] = name
    clock.set(datetime(2026, 11, 30, 12, 0, tzinfo=timezone.utc))

    async def aged(**params: int) -> set[str]:
        return {ids[i] for i in await listed(client, ADMIN, **params) if i in ids}

    assert await aged(child_age_min=10) == {"nov16", "dec16_far"}
    assert await aged(child_age_min=9, child_age_max=9) == {"dec16"}
    assert await aged(child_age_max=0) == {"nov26"}  # born this month: 0 years old
    assert await aged(child_age_min=1, child_age_max=10) == {"nov16", "dec16", "dec16_far"}
