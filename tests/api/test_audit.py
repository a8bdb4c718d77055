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
