"""Households and children: personal data, scoped to the staff's cohorts and audited on every
read and change."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.models import AuditLog, Child
from tests.api.helpers import ADMIN, World, add_household


async def _audit(sessionmaker: async_sessionmaker[AsyncSession]) -> list[AuditLog]:
    async with sessionmaker() as session:
        rows = await session.scalars(
            select(AuditLog).where(AuditLog.entity.in_(["household", "child"])).order_by(AuditLog.id)
        )
        return list(rows.all())


async def test_list_households_shows_guardians_without_chat_ids(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    response = await client.get(f"/api/v1/cohorts/{world.a.cohort_id}/households", headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    [household] = response.json()
    assert household["id"] == world.a.household["id"] and household["cohort_id"] == world.a.cohort_id
    [guardian] = household["guardians"]
    assert guardian["relationship"] == "grandmother" and guardian["lives_with_children"] is True
    assert "chat_id" not in guardian and "address" not in guardian
    assert world.a.household["address"].partition(":")[2] not in response.text
    assert [(c["nickname"], c["birth_year"], c["birth_month"]) for c in household["children"]] == [
        ("Xiaoming", 2018, 3)
    ]

    [row] = await _audit(sessionmaker)
    assert (row.staff_id, row.action, row.entity, row.cohort_id, row.at) == (
        world.a.director["id"], "read", "household", world.a.cohort_id, clock()
    )
    assert row.detail == {"ids": [world.a.household["id"]]}


async def test_list_households_pages(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    more = [(await add_household(sessionmaker, clock, world.a.cohort_id))["id"] for _ in range(3)]
    url = f"/api/v1/cohorts/{world.a.cohort_id}/households"
    page = (await client.get(url, params={"limit": 2, "offset": 1}, headers=ADMIN)).json()
    assert [h["id"] for h in page] == more[:2]
    for params, field in (({"limit": 0}, "query.limit"), ({"limit": 201}, "query.limit"),
                          ({"offset": -1}, "query.offset"), ({"limit": "many"}, "query.limit")):
        response = await client.get(url, params=params, headers=ADMIN)
        assert response.status_code == 422
        assert response.json()["error"]["fields"][0]["field"] == field


async def test_read_household_is_audited(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    household_id = world.a.household["id"]
    response = await client.get(f"/api/v1/households/{household_id}", headers=world.a.supervisor_auth)
    assert response.status_code == 200
    assert response.json()["children"][0]["id"] == world.a.child_id
    [row] = await _audit(sessionmaker)
    assert (row.staff_id, row.action, row.entity, row.entity_id, row.cohort_id, row.at) == (
        world.a.supervisor["id"], "read", "household", household_id, world.a.cohort_id, clock()
    )


async def test_other_cohorts_households_and_children_are_404(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        assert (await client.get(f"/api/v1/cohorts/{world.b.cohort_id}/households", headers=auth)).status_code == 404
        assert (await client.get(f"/api/v1/households/{world.b.household['id']}", headers=auth)).status_code == 404
        response = await client.patch(f"/api/v1/children/{world.b.child_id}", json={"nickname": "Hi"}, headers=auth)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    # A refused read leaves no trace of personal data read — only of the attempt ("denied").
    rows = await _audit(sessionmaker)
    assert [(r.action, r.entity) for r in rows] == [("denied", "household"), ("denied", "child")] * 2


async def test_unknown_ids_are_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/cohorts/999/households", headers=ADMIN)).status_code == 404
    assert (await client.get("/api/v1/households/999", headers=ADMIN)).status_code == 404
    assert (await client.patch("/api/v1/children/999", json={"nickname": "A"}, headers=ADMIN)).status_code == 404


async def test_director_corrects_a_child_and_it_is_audited(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    response = await client.patch(
        f"/api/v1/children/{world.a.child_id}",
        json={"nickname": "  Xiao  Hong ", "birth_year": 2017, "birth_month": 12, "sex": "boy"},
        headers=world.a.director_auth,
    )
    assert response.status_code == 200, response.text
    child = response.json()
    assert (child["nickname"], child["birth_year"], child["birth_month"], child["sex"]) == ("Xiao Hong", 2017, 12, "boy")
    assert child["updated_at"] == "2026-11-23T04:00:00Z"

    [row] = await _audit(sessionmaker)
    assert (row.staff_id, row.action, row.entity, row.entity_id, row.cohort_id, row.at) == (
        world.a.director["id"], "update", "child", world.a.child_id, world.a.cohort_id, clock()
    )
    # Field names, never values.
    assert row.detail == {"fields": ["birth_month", "birth_year", "nickname", "sex"]}
    assert "Xiao" not in str(row.detail)


async def test_supervisor_cannot_change_a_child(client: httpx.AsyncClient, world: World) -> None:
    response = await client.patch(f"/api/v1/children/{world.a.child_id}", json={"nickname": "Hi"},
                                  headers=world.a.supervisor_auth)
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"


@pytest.mark.parametrize(
    ("body", "field", "code"),
    [
        ({"birth_year": 2027}, "birth_year", "birth_in_future"),
        ({"birth_year": 2026, "birth_month": 12}, "birth_month", "birth_in_future"),
        ({"birth_year": 2008, "birth_month": 11}, "birth_month", "child_too_old"),
        ({"birth_year": 2005}, "birth_year", "child_too_old"),
        ({"nickname": "Wang 13800138000"}, "nickname", "nickname_has_number"),
        ({"nickname": "   "}, "nickname", "nickname_empty"),
        ({"nickname": None}, "nickname", "invalid"),
        ({"birth_month": 13}, "body.birth_month", "invalid"),
        ({"sex": "other"}, "body.sex", "invalid"),
        ({"id_number": "110101201001011234"}, "body.id_number", "invalid"),
    ],
    ids=["future-year", "future-month", "turned-18", "adult-year", "phone-number", "blank", "null",
         "month-13", "bad-sex", "unknown-field"],
)
async def test_invalid_child_change_is_422(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession],
    body: dict, field: str, code: str,
) -> None:
    response = await client.patch(f"/api/v1/children/{world.a.child_id}", json=body, headers=world.a.director_auth)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == code
    named = [error["field"]] if "field" in error else [f["field"] for f in error["fields"]]
    assert named == [field]
    assert error["message"]


async def test_a_failed_change_is_rolled_back(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    # The service sets the nickname before it rejects the birth date; nothing may stick.
    response = await client.patch(f"/api/v1/children/{world.a.child_id}",
                                  json={"nickname": "Changed", "birth_year": 2030}, headers=ADMIN)
    assert response.status_code == 422
    async with sessionmaker() as session:
        child = await session.get(Child, world.a.child_id)
    assert child is not None and child.nickname == "Xiaoming" and child.birth_year == 2018
    assert await _audit(sessionmaker) == []
