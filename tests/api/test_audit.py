"""GET /audit: admins read who read or changed what, filtered by staff, entity and time."""
from __future__ import annotations

import httpx

from core.clock import FrozenClock
from tests.api.helpers import ADMIN, World


async def test_only_admins_read_the_audit_log(client: httpx.AsyncClient, world: World) -> None:
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        assert (await client.get("/api/v1/audit", headers=auth)).status_code == 403


async def test_audit_log_names_who_did_what_when(client: httpx.AsyncClient, world: World, clock: FrozenClock) -> None:
    admin_id = (await client.get("/api/v1/me", headers=ADMIN)).json()["id"]
    clock.advance(minutes=5)
    await client.get(f"/api/v1/households/{world.a.household['id']}", headers=world.a.director_auth)
    clock.advance(minutes=5)
    await client.patch(f"/api/v1/children/{world.a.child_id}", json={"nickname": "Mingming"},
                       headers=world.a.director_auth)

    entries = (await client.get("/api/v1/audit", headers=ADMIN)).json()
    # Newest first: the child change, the household read, then the four staff creations.
    assert [(e["action"], e["entity"]) for e in entries] == [
        ("update", "child"), ("read", "household")] + [("create", "staff")] * 4
    change, read = entries[0], entries[1]
    assert change == {
        "id": change["id"], "at": "2026-11-23T04:10:00Z", "staff_id": world.a.director["id"], "action": "update",
        "entity": "child", "entity_id": world.a.child_id, "cohort_id": world.a.cohort_id,
        "detail": {"fields": ["nickname"]},
    }
    assert (read["at"], read["staff_id"], read["entity_id"]) == (
        "2026-11-23T04:05:00Z", world.a.director["id"], world.a.household["id"]
    )
    assert {e["staff_id"] for e in entries[2:]} == {admin_id}


async def test_audit_filters(client: httpx.AsyncClient, world: World, clock: FrozenClock) -> None:
    clock.advance(hours=1)
    await client.get(f"/api/v1/households/{world.a.household['id']}", headers=world.a.director_auth)
    await client.get(f"/api/v1/households/{world.b.household['id']}", headers=world.b.director_auth)

    def entities(response: httpx.Response) -> list[tuple[str, int | None]]:
        assert response.status_code == 200, response.text
        return [(e["entity"], e["staff_id"]) for e in response.json()]

    by_staff = await client.get("/api/v1/audit", params={"staff_id": world.b.director["id"]}, headers=ADMIN)
    assert entities(by_staff) == [("household", world.b.director["id"])]
    by_entity = await client.get("/api/v1/audit", params={"entity": "household"}, headers=ADMIN)
    assert len(entities(by_entity)) == 2
    since = await client.get("/api/v1/audit", params={"since": "2026-11-23T12:30:00+08:00"}, headers=ADMIN)
    assert [e for e, _ in entities(since)] == ["household", "household"]
    limited = await client.get("/api/v1/audit", params={"limit": 1}, headers=ADMIN)
    assert entities(limited) == [("household", world.b.director["id"])]


async def test_bad_audit_filters_are_422(client: httpx.AsyncClient) -> None:
    for params, field in (
        ({"since": "2026-11-23T12:30:00"}, "query.since"),  # naive: which time zone?
        ({"since": "yesterday"}, "query.since"),
        ({"limit": 0}, "query.limit"),
        ({"limit": 100_000}, "query.limit"),
        ({"staff_id": "me"}, "query.staff_id"),
        ({"staff_id": 2**40}, "query.staff_id"),
    ):
        response = await client.get("/api/v1/audit", params=params, headers=ADMIN)
        assert response.status_code == 422, params
        assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


async def test_audit_pages_follow_the_link_with_a_total(client: httpx.AsyncClient, world: World,
                                                        clock: FrozenClock) -> None:
    for _ in range(5):
        clock.advance(minutes=1)
        await client.get(f"/api/v1/households/{world.a.household['id']}", headers=world.a.director_auth)
    seen: list[int] = []
    url: str | None = "/api/v1/audit?entity=household&limit=2"
    pages = 0
    while url:
        response = await client.get(url, headers=ADMIN)
        assert response.status_code == 200 and response.headers["X-Total-Count"] == str(5 + pages)
        seen += [e["id"] for e in response.json()]
        link = response.headers.get("Link")
        url = link[1:link.index(">")] if link else None
        assert link is None or link.endswith('>; rel="next"')
        # A row written between pages never shifts the next page.
        await client.get(f"/api/v1/households/{world.b.household['id']}", headers=world.b.director_auth)
        pages += 1
    # The five rows, newest first, each once; the rows written meanwhile are newer than the cursor.
    assert pages == 3 and len(seen) == 5 and seen == sorted(seen, reverse=True)
    assert len(set(seen)) == len(seen)


async def test_audit_time_range(client: httpx.AsyncClient, world: World, clock: FrozenClock) -> None:
    for _ in range(3):
        clock.advance(hours=1)  # 05:00, 06:00, 07:00 UTC
        await client.get(f"/api/v1/households/{world.a.household['id']}", headers=world.a.director_auth)
    response = await client.get("/api/v1/audit", params={
        "entity": "household", "since": "2026-11-23T14:00:00+08:00", "until": "2026-11-23T07:00:00Z"}, headers=ADMIN)
    assert [e["at"] for e in response.json()] == ["2026-11-23T06:00:00Z"]
    assert response.headers["X-Total-Count"] == "1" and "Link" not in response.headers
    backwards = await client.get("/api/v1/audit", params={"since": "2026-11-23T07:00:00Z",
                                                          "until": "2026-11-23T06:00:00Z"}, headers=ADMIN)
    assert backwards.status_code == 422 and backwards.json()["error"]["field"] == "since"
    bad_cursor = await client.get("/api/v1/audit", params={"cursor": "not-ours"}, headers=ADMIN)
    assert bad_cursor.status_code == 422 and bad_cursor.json()["error"]["field"] == "cursor"


async def test_denied_cross_cohort_attempts_are_audited(client: httpx.AsyncClient, world: World) -> None:
    other = world.b.household["id"]
    response = await client.get(f"/api/v1/households/{other}", headers=world.a.director_auth)
    assert response.status_code == 404  # to them, another cohort's household does not exist …
    await client.patch(f"/api/v1/cohorts/{world.a.cohort_id}", json={"region": "x"}, headers=world.a.supervisor_auth)
    entries = (await client.get("/api/v1/audit", params={"action": "denied"}, headers=ADMIN)).json()
    # … but the attempt is in the log, as is a supervisor trying to change a cohort (403).
    assert [(e["staff_id"], e["entity"], e["entity_id"], e["cohort_id"], e["detail"]) for e in entries] == [
        (world.a.supervisor["id"], "cohort", world.a.cohort_id, world.a.cohort_id,
         {"method": "PATCH", "route": "/api/v1/cohorts/{cohort_id}", "status": 403, "code": "forbidden"}),
        (world.a.director["id"], "household", other, world.b.cohort_id,  # another cohort's: cross-scope
         {"method": "GET", "route": "/api/v1/households/{household_id}", "status": 404, "code": "not_found"}),
    ]
