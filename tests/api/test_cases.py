"""Cases through the API: listed and read (with alerts and events in order, staff names, every
read audited), notes, calls and visits (also the monthly visit to a household with no case),
referrals, close and reopen; another cohort's case or household is not found; bad input is a
422 naming the field; closing a closed case or reopening an open one is a 409."""
from __future__ import annotations

from dataclasses import dataclass

import httpx
import pytest
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.models import Alert, CaseEvent, Child, Guardian, Household
from tests.api.checkin_data import link_telegram, load_shipped_questionnaires, weekly_alerts
from tests.api.helpers import ADMIN, World, add_household

URL = "/api/v1/cases"


def z(at) -> str:  # type: ignore[no-untyped-def]
    return at.isoformat().replace("+00:00", "Z")


@dataclass
class Cases:
    a: int  # cohort A's child: red (safety) and yellow (low mood) alerts, an hour before b
    a_alerts: dict[str, int]
    b: int  # cohort B's child: a red alert
    b_alert: int


@pytest.fixture
async def cases(world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> Cases:
    await load_shipped_questionnaires(sessionmaker, clock)
    await link_telegram(sessionmaker, world.a.director["id"], world.b.director["id"])
    _, a = await weekly_alerts(sessionmaker, clock, cohort_id=world.a.cohort_id, child_id=world.a.child_id,
                               guardian_id=world.a.household["guardian_id"], cycle="2026-W48", safety=1, mood=2)
    clock.advance(hours=1)
    _, b = await weekly_alerts(sessionmaker, clock, cohort_id=world.b.cohort_id, child_id=world.b.child_id,
                               guardian_id=world.b.household["guardian_id"], cycle="2026-W48", safety=1)
    clock.advance(hours=1)
    async with sessionmaker() as session:
        case_of = dict((await session.execute(select(Alert.id, Alert.case_id))).all())
    assert case_of[a["safety_self_harm"]] == case_of[a["low_mood"]]  # one case per child
    return Cases(a=case_of[a["safety_self_harm"]], a_alerts=a, b=case_of[b["safety_self_harm"]],
                 b_alert=b["safety_self_harm"])


async def listed(client: httpx.AsyncClient, auth: dict[str, str], **params: object) -> list[int]:
    response = await client.get(URL, params=params, headers=auth)
    assert response.status_code == 200, response.text
    return [c["id"] for c in response.json()]


async def test_list_is_scoped_filtered_open_first_and_audited(
    client: httpx.AsyncClient, world: World, cases: Cases
) -> None:
    assert await listed(client, ADMIN) == [cases.b, cases.a]  # newest first
    assert await listed(client, world.a.director_auth) == [cases.a]
    assert await listed(client, world.b.supervisor_auth) == [cases.b]
    closed = await client.post(f"{URL}/{cases.b}/close", json={"outcome": "safe_now"}, headers=world.b.director_auth)
    assert closed.status_code == 200, closed.text
    assert await listed(client, ADMIN) == [cases.a, cases.b]  # open before closed
    assert await listed(client, ADMIN, status="closed") == [cases.b]
    assert await listed(client, ADMIN, status="open") == [cases.a]
    assert await listed(client, ADMIN, child_id=world.a.child_id) == [cases.a]
    assert await listed(client, ADMIN, cohort_id=world.b.cohort_id) == [cases.b]
    assert await listed(client, ADMIN, limit=1, offset=1) == [cases.b]
    assert await listed(client, world.a.director_auth, child_id=world.b.child_id) == []
    response = await client.get(URL, params={"cohort_id": world.b.cohort_id}, headers=world.a.director_auth)
    assert response.status_code == 404 and response.json()["error"]["field"] == "cohort_id"
    assert (await client.get(URL)).status_code == 401

    [row] = (await client.get(URL, params={"status": "open"}, headers=world.a.director_auth)).json()
    assert row == {
        "id": cases.a, "cohort_id": world.a.cohort_id, "subject_key": f"child:{world.a.child_id}",
        "child_id": world.a.child_id, "household_id": world.a.household["id"], "guardian_id": None, "status": "open",
        "responsible_staff_id": world.a.director["id"], "opened_at": "2026-11-23T04:00:00Z", "closed_at": None,
        "closed_by_staff_id": None, "outcome": None, "followup_due_at": None, "family": None,
    }
    entries = (await client.get("/api/v1/audit", params={"entity": "case"}, headers=ADMIN)).json()
    latest = entries[0]  # newest first: the list just read
    assert (latest["staff_id"], latest["action"], latest["cohort_id"], latest["detail"]) == (
        world.a.director["id"], "read", None, {"ids": [cases.a]})


@pytest.mark.parametrize(("params", "field"), [({"status": "pending"}, "query.status"), ({"limit": 201}, "query.limit"),
                                                ({"child_id": 0}, "query.child_id"), ({"offset": -1}, "query.offset")])
async def test_bad_list_filters_are_422(client: httpx.AsyncClient, params: dict, field: str) -> None:
    response = await client.get(URL, params=params, headers=ADMIN)
    assert response.status_code == 422 and [f["field"] for f in response.json()["error"]["fields"]] == [field]


async def test_read_a_case_with_alerts_and_events_every_read_audited(
    client: httpx.AsyncClient, world: World, cases: Cases, clock: FrozenClock
) -> None:
    a = world.a
    note = await client.post(f"{URL}/{cases.a}/notes", json={"text": "奶奶说孩子这周好多了。"},
                             headers=a.supervisor_auth)
    assert note.status_code == 201, note.text
    clock.advance(minutes=5)
    for auth in (a.director_auth, a.supervisor_auth):
        response = await client.get(f"{URL}/{cases.a}", headers=auth)
        assert response.status_code == 200, response.text
    body = response.json()
    assert (body["nickname"], body["age"], body["responsible_name"]) == ("Xiaoming", 8, "Director Village A")
    assert body["case"]["id"] == cases.a and body["case"]["status"] == "open"
    assert [(al["id"], al["severity"], al["case_id"]) for al in body["alerts"]] == sorted(
        [(cases.a_alerts["safety_self_harm"], "red", cases.a), (cases.a_alerts["low_mood"], "yellow", cases.a)])
    # The red answer raised its alert at once; the yellow one came at completion, the same minute.
    assert [(e["kind"], e["alert_id"], e["staff_id"], e["staff_name"], e["note"]) for e in body["events"]] == [
        ("alert", cases.a_alerts["safety_self_harm"], None, None, None),
        ("alert", cases.a_alerts["low_mood"], None, None, None),
        ("note", None, a.supervisor["id"], "Supervisor Village A", "奶奶说孩子这周好多了。"),
    ]
    entries = (await client.get("/api/v1/audit", params={"entity": "case"}, headers=ADMIN)).json()
    reads = [(e["staff_id"], e["entity_id"], e["cohort_id"]) for e in entries if e["action"] == "read"]
    assert reads == [(a.supervisor["id"], cases.a, a.cohort_id), (a.director["id"], cases.a, a.cohort_id)]


async def test_notes_contacts_referrals_are_events_on_the_case(
    client: httpx.AsyncClient, world: World, cases: Cases, clock: FrozenClock
) -> None:
    a = world.a
    now = clock()
    note = (await client.post(f"{URL}/{cases.a}/notes", json={"text": "  见了班主任。 "}, headers=a.director_auth)).json()
    assert note == {"id": note["id"], "case_id": cases.a, "household_id": a.household["id"], "alert_id": None,
                    "at": z(now), "kind": "note", "staff_id": a.director["id"], "staff_name": "Director Village A",
                    "detail": {}, "note": "见了班主任。"}
    visit = await client.post(f"{URL}/{cases.a}/contacts", json={"method": "visit", "note": "孩子在家，情绪平稳。"},
                              headers=a.director_auth)
    assert visit.status_code == 201, visit.text
    assert {k: visit.json()[k] for k in ("case_id", "kind", "detail", "note")} == {
        "case_id": cases.a, "kind": "contact", "detail": {"method": "visit"}, "note": "孩子在家，情绪平稳。"}
    call = await client.post(f"{URL}/{cases.a}/contacts", json={"method": "call"}, headers=a.supervisor_auth)
    assert (call.status_code, call.json()["note"], call.json()["staff_name"]) == (201, None, "Supervisor Village A")
    referral = await client.post(f"{URL}/{cases.a}/referrals", json={"to": "school_counsellor", "note": "转给心理老师"},
                                 headers=a.director_auth)
    assert referral.status_code == 201, referral.text
    assert {k: referral.json()[k] for k in ("kind", "detail", "note")} == {
        "kind": "referral", "detail": {"to": "school_counsellor"}, "note": "转给心理老师"}
    kinds = [e["kind"] for e in (await client.get(f"{URL}/{cases.a}", headers=ADMIN)).json()["events"]]
    assert kinds == ["alert", "alert", "note", "contact", "contact", "referral"]


async def test_the_monthly_visit_to_a_household_without_a_case(
    client: httpx.AsyncClient, world: World, cases: Cases, sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    quiet = await add_household(sessionmaker, clock, world.a.cohort_id)
    response = await client.post(f"/api/v1/households/{quiet['id']}/contacts", json={"method": "visit"},
                                 headers=world.a.director_auth)
    assert response.status_code == 201, response.text
    assert {k: response.json()[k] for k in ("case_id", "household_id", "kind", "detail", "staff_id")} == {
        "case_id": None, "household_id": quiet["id"], "kind": "contact", "detail": {"method": "visit"},
        "staff_id": world.a.director["id"]}
    async with sessionmaker() as session:
        rows = (await session.execute(select(CaseEvent.case_id, CaseEvent.cohort_id)
                                      .where(CaseEvent.household_id == quiet["id"]))).all()
        assert rows == [(None, world.a.cohort_id)]
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        response = await client.post(f"/api/v1/households/{world.b.household['id']}/contacts",
                                     json={"method": "call"}, headers=auth)
        assert response.status_code == 404
    assert (await client.post("/api/v1/households/999999/contacts", json={"method": "call"},
                              headers=ADMIN)).status_code == 404
    assert (await client.post(f"/api/v1/households/{quiet['id']}/contacts", json={"method": "call"})).status_code == 401
    bad = await client.post(f"/api/v1/households/{quiet['id']}/contacts", json={"method": "letter"}, headers=ADMIN)
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "body.method"


async def test_close_resolves_its_alerts_and_reopen_brings_it_back(
    client: httpx.AsyncClient, world: World, cases: Cases, clock: FrozenClock
) -> None:
    a = world.a
    now = clock()
    response = await client.post(f"{URL}/{cases.a}/close", json={"outcome": "family_supported", "note": "家里安排好了"},
                                 headers=a.director_auth)
    assert response.status_code == 200, response.text
    body = response.json()
    assert {k: body["case"][k] for k in ("id", "status", "outcome", "closed_at", "closed_by_staff_id")} == {
        "id": cases.a, "status": "closed", "outcome": "family_supported", "closed_at": z(now),
        "closed_by_staff_id": a.director["id"]}
    assert len(body["followup_check_in_ids"]) == 1
    detail = (await client.get(f"{URL}/{cases.a}", headers=ADMIN)).json()
    assert {(al["status"], al["outcome"]) for al in detail["alerts"]} == {("resolved", "family_supported")}
    assert [e["kind"] for e in detail["events"]][2:] == ["resolved", "resolved", "closed", "followup_scheduled"]

    for action, body_ in (("close", {"outcome": "other"}), ("referrals", {"to": "police"})):
        response = await client.post(f"{URL}/{cases.a}/{action}", json=body_, headers=a.director_auth)
        assert response.status_code == 409 and response.json()["error"]["code"] == "case_closed"

    response = await client.post(f"{URL}/{cases.a}/reopen", headers=a.supervisor_auth)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in ("status", "closed_at", "closed_by_staff_id", "outcome")} == {
        "status": "open", "closed_at": None, "closed_by_staff_id": None, "outcome": None}
    response = await client.post(f"{URL}/{cases.a}/reopen", headers=a.director_auth)
    assert response.status_code == 409 and response.json()["error"]["code"] == "case_open"

    # The family left: closing schedules no follow-up.
    left = await client.post(f"{URL}/{cases.a}/close", json={"outcome": "family_left"}, headers=a.director_auth)
    assert (left.status_code, left.json()["followup_check_in_ids"]) == (200, [])


async def test_another_cohorts_case_is_not_found_for_every_action(
    client: httpx.AsyncClient, world: World, cases: Cases
) -> None:
    calls = [("get", "", None), ("post", "/notes", {"text": "x"}), ("post", "/contacts", {"method": "call"}),
             ("post", "/referrals", {"to": "police"}), ("post", "/close", {"outcome": "other"}),
             ("post", "/reopen", None)]
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        for method, path, body in calls:
            response = await client.request(method, f"{URL}/{cases.b}{path}", json=body, headers=auth)
            assert response.status_code == 404, (path, response.text)
            assert response.json()["error"]["code"] == "not_found"
    for method, path, body in calls:
        assert (await client.request(method, f"{URL}/{cases.a}{path}", json=body)).status_code == 401
        assert (await client.request(method, f"{URL}/999999{path}", json=body, headers=ADMIN)).status_code == 404
    # Nothing was written to B's case.
    events = (await client.get(f"{URL}/{cases.b}", headers=ADMIN)).json()["events"]
    assert [e["kind"] for e in events] == ["alert"]


# (path, body, the field named): one fixture for the whole table, each row checked.
BAD_BODIES = [
    ("/notes", {"text": ""}, "body.text"), ("/notes", {}, "body.text"), ("/notes", {"text": "x" * 2001}, "body.text"),
    ("/notes", {"text": "x", "urgent": True}, "body.urgent"), ("/notes", {"text": "   "}, "text"),
    ("/contacts", {"method": "letter"}, "body.method"), ("/contacts", {"method": "call", "note": "x" * 2001}, "body.note"),
    ("/contacts", {"method": "call", "at": "yesterday"}, "body.at"),
    ("/referrals", {"to": "mayor"}, "body.to"), ("/referrals", {}, "body.to"),
    ("/referrals", {"to": "police", "note": "x" * 2001}, "body.note"),
    ("/close", {"outcome": "done"}, "body.outcome"), ("/close", {"outcome": "other", "extra": 1}, "body.extra"),
    ("/close", {"outcome": "other", "note": "x" * 2001}, "body.note"),
]


async def test_bad_bodies_are_422_naming_the_field(client: httpx.AsyncClient, world: World, cases: Cases) -> None:
    named = []
    for path, body, _ in BAD_BODIES:
        response = await client.post(f"{URL}/{cases.a}{path}", json=body, headers=world.a.director_auth)
        assert response.status_code == 422, (path, body, response.text)
        error = response.json()["error"]
        named.append((path, [f["field"] for f in error["fields"]] if error.get("fields") else [error["field"]]))
    assert named == [(path, [field]) for path, _, field in BAD_BODIES]
    events = (await client.get(f"{URL}/{cases.a}", headers=ADMIN)).json()["events"]
    assert [e["kind"] for e in events] == ["alert", "alert"]  # nothing written


def test_the_choices_are_the_services_own() -> None:
    from typing import get_args

    from core.alerts import cases as services
    from core.alerts.schemas import Method, Outcome, ReferralTarget

    assert (get_args(Method), get_args(ReferralTarget), get_args(Outcome)) == (
        services.CONTACT_METHODS, services.REFERRAL_TARGETS, services.OUTCOMES)


async def test_an_idempotency_key_makes_a_retried_post_harmless(
    client: httpx.AsyncClient, world: World, cases: Cases, sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    a = world.a

    async def count(kind: str) -> int:
        async with sessionmaker() as session:
            return len((await session.scalars(select(CaseEvent).where(CaseEvent.kind == kind))).all())

    key = {**a.director_auth, "Idempotency-Key": "6f1c0a4e-note-1"}
    first = await client.post(f"{URL}/{cases.a}/notes", json={"text": "见了班主任"}, headers=key)
    clock.advance(minutes=1)
    again = await client.post(f"{URL}/{cases.a}/notes", json={"text": "见了班主任"}, headers=key)
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert await count("note") == 1
    # The same key for something else is refused; another staff member's keys are their own.
    other = await client.post(f"{URL}/{cases.a}/notes", json={"text": "另一件事"}, headers=key)
    assert other.status_code == 422 and other.json()["error"]["field"] == "Idempotency-Key"
    mine = await client.post(f"{URL}/{cases.a}/notes", json={"text": "见了班主任"},
                             headers={**a.supervisor_auth, "Idempotency-Key": "6f1c0a4e-note-1"})
    assert mine.status_code == 201 and await count("note") == 2
    # Contacts (case and household) and referrals too; without a key every POST adds one.
    for url, body in ((f"{URL}/{cases.a}/contacts", {"method": "call"}),
                      (f"/api/v1/households/{a.household['id']}/contacts", {"method": "visit"}),
                      (f"{URL}/{cases.a}/referrals", {"to": "school_counsellor"})):
        keyed = {**a.director_auth, "Idempotency-Key": f"key-{url}"}
        ids = {(await client.post(url, json=body, headers=keyed)).json()["id"] for _ in range(3)}
        assert len(ids) == 1, url
    assert await count("contact") == 2 and await count("referral") == 1
    for _ in range(2):
        await client.post(f"{URL}/{cases.a}/contacts", json={"method": "call"}, headers=a.director_auth)
    assert await count("contact") == 4
    # A key lasts 24 hours; a bad key is 422.
    clock.advance(hours=25)
    later = await client.post(f"{URL}/{cases.a}/notes", json={"text": "见了班主任"}, headers=key)
    assert later.status_code == 201 and later.json()["id"] != first.json()["id"]
    bad = await client.post(f"{URL}/{cases.a}/notes", json={"text": "x"},
                            headers={**a.director_auth, "Idempotency-Key": "has space"})
    assert bad.status_code == 422 and bad.json()["error"]["fields"][0]["field"] == "header.Idempotency-Key"


async def test_closing_a_case_reads_only_its_own_household(
    client: httpx.AsyncClient, world: World, cases: Cases, sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """The follow-up is planned for the case's child from its household alone: closing costs
    the same in a village of 10 households or 10,000 (issue #16; `make bench-api` times it)."""
    for _ in range(20):
        await add_household(sessionmaker, clock, world.a.cohort_id)
    loaded: list[str] = []

    def count(target: object, _context: object) -> None:
        loaded.append(type(target).__name__)

    for model in (Guardian, Child, Household):
        event.listen(model, "load", count)
    try:
        response = await client.post(f"{URL}/{cases.a}/close", json={"outcome": "safe_now"},
                                     headers=world.a.director_auth)
    finally:
        for model in (Guardian, Child, Household):
            event.remove(model, "load", count)
    assert response.status_code == 200, response.text
    assert len(response.json()["followup_check_in_ids"]) == 1
    assert sorted(loaded) == ["Child", "Guardian"]  # the child and their guardian, nobody else's


async def test_a_close_writes_the_case_its_follow_up_and_their_events_together(
    client: httpx.AsyncClient, world: World, cases: Cases, sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """The closing and the follow-up date reach the case row together (one UPDATE, no flush in
    between), and the follow-up check-ins named by INSERT … RETURNING are the ones created: the
    answer, the case's event and each delivery's reference all name the same rows, for the
    case's own child and guardian."""
    from core.models import Case, CheckIn, Delivery

    now = clock()
    response = await client.post(f"{URL}/{cases.a}/close", json={"outcome": "safe_now"},
                                 headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    ids = response.json()["followup_check_in_ids"]
    async with sessionmaker() as session:
        case = await session.get(Case, cases.a)
        assert case is not None and (case.status, case.outcome, case.closed_at) == ("closed", "safe_now", now)
        assert case.followup_due_at is not None and case.followup_due_at > now
        followups = list((await session.scalars(select(CheckIn).where(CheckIn.case_id == cases.a))).all())
        assert [c.id for c in followups] == ids and len(ids) == 1
        assert (followups[0].child_id, followups[0].due_at) == (world.a.child_id, case.followup_due_at)
        sent = (await session.execute(select(Delivery.ref_id, Delivery.guardian_id, Delivery.state)
                                      .where(Delivery.ref_kind == "checkin", Delivery.ref_id.in_(ids)))).all()
        assert [tuple(row) for row in sent] == [(ids[0], world.a.household["guardian_id"], "pending")]
        events = {e.kind: e.detail for e in (await session.scalars(
            select(CaseEvent).where(CaseEvent.case_id == cases.a))).all()}
        assert events["followup_scheduled"]["check_in_ids"] == ids and "closed" in events
