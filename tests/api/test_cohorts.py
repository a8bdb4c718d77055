"""Cohorts: admins create; everyone lists and reads their own; directors edit theirs."""
from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import ADMIN, World, create_cohort


async def test_admin_creates_and_reads_a_cohort(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/cohorts",
        json={"name": "  Shangba village ", "region": "Hunan", "timezone": "Asia/Shanghai", "default_locale": "en"},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    cohort = response.json()
    assert cohort["name"] == "Shangba village"
    assert cohort["default_locale"] == "en"
    assert cohort["created_at"] == "2026-11-23T04:00:00Z"
    assert (await client.get(f"/api/v1/cohorts/{cohort['id']}", headers=ADMIN)).json() == cohort
    assert (await client.get("/api/v1/cohorts", headers=ADMIN)).json() == [cohort]


@pytest.mark.parametrize(
    ("body", "field", "reason"),
    [
        ({"name": "A", "timezone": "Mars/Olympus"}, "body.timezone", "unknown time zone 'Mars/Olympus'"),
        ({"name": "A", "default_locale": "fr"}, "body.default_locale", "unsupported locale 'fr'"),
        ({"name": "   "}, "body.name", "must not be blank"),
        ({"name": ""}, "body.name", "at least 1 character"),
        ({}, "body.name", "Field required"),
        ({"name": "A", "colour": "red"}, "body.colour", "Extra inputs are not permitted"),
    ],
    ids=["timezone", "locale", "blank-name", "empty-name", "missing-name", "unknown-field"],
)
async def test_invalid_cohort_is_422_naming_the_field(
    client: httpx.AsyncClient, body: dict, field: str, reason: str
) -> None:
    response = await client.post("/api/v1/cohorts", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert [f["field"] for f in error["fields"]] == [field]
    assert reason in error["fields"][0]["reason"]
    assert field in error["message"]


async def test_patch_validates_too(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/cohorts/{world.a.cohort_id}"
    for body, field in (({"timezone": "Nowhere"}, "body.timezone"), ({"name": " "}, "body.name"),
                        ({"default_locale": "de"}, "body.default_locale"), ({"id": 5}, "body.id")):
        response = await client.patch(url, json=body, headers=ADMIN)
        assert response.status_code == 422, body
        assert response.json()["error"]["fields"][0]["field"] == field


async def test_only_admins_create_cohorts(client: httpx.AsyncClient, world: World) -> None:
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        response = await client.post("/api/v1/cohorts", json={"name": "Mine"}, headers=auth)
        assert response.status_code == 403
        assert response.json()["error"]["code"] == "forbidden"
    assert len((await client.get("/api/v1/cohorts", headers=ADMIN)).json()) == 2


async def test_lists_are_scoped(client: httpx.AsyncClient, world: World) -> None:
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        listed = (await client.get("/api/v1/cohorts", headers=auth)).json()
        assert [c["id"] for c in listed] == [world.a.cohort_id]
    listed = (await client.get("/api/v1/cohorts", headers=ADMIN)).json()
    assert [c["id"] for c in listed] == [world.a.cohort_id, world.b.cohort_id]


async def test_other_cohorts_are_404_not_403(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/cohorts/{world.b.cohort_id}"
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        assert (await client.get(url, headers=auth)).status_code == 404
        response = await client.patch(url, json={"region": "x"}, headers=auth)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"


async def test_director_edits_own_cohort_supervisor_cannot(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/cohorts/{world.a.cohort_id}"
    response = await client.patch(url, json={"region": "Guizhou", "timezone": "Asia/Urumqi"},
                                  headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    assert response.json()["region"] == "Guizhou" and response.json()["timezone"] == "Asia/Urumqi"

    response = await client.patch(url, json={"region": "Elsewhere"}, headers=world.a.supervisor_auth)
    assert response.status_code == 403
    assert (await client.get(url, headers=world.a.supervisor_auth)).json()["region"] == "Guizhou"


async def test_unknown_cohort_is_404(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/cohorts/999", headers=ADMIN)).status_code == 404
    assert (await client.patch("/api/v1/cohorts/999", json={"region": "x"}, headers=ADMIN)).status_code == 404


async def test_create_then_list_many(client: httpx.AsyncClient) -> None:
    ids = [(await create_cohort(client, f"Cohort {i}"))["id"] for i in range(3)]
    assert [c["id"] for c in (await client.get("/api/v1/cohorts", headers=ADMIN)).json()] == ids


async def test_a_cohort_chooses_its_programmes(client: httpx.AsyncClient, world: World, loaded_content: None) -> None:
    cohort_id = world.a.cohort["id"]
    url = f"/api/v1/cohorts/{cohort_id}"
    response = await client.patch(url, json={"programmes": ["guardian_7_12", "guardian_7_12"]},
                                  headers=world.a.director_auth)
    assert response.status_code == 200 and response.json()["programmes"] == ["guardian_7_12"]
    unknown = await client.patch(url, json={"programmes": ["no_such_programme"]}, headers=ADMIN)
    assert unknown.status_code == 422
    assert unknown.json()["error"]["field"] == "programmes"
    assert "no_such_programme" in unknown.json()["error"]["message"]
    assert (await client.get(url, headers=ADMIN)).json()["programmes"] == ["guardian_7_12"]  # unchanged
    back = await client.patch(url, json={"programmes": []}, headers=ADMIN)  # the standard library again
    assert back.json()["programmes"] == []
