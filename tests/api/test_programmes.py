"""Programmes over HTTP: everyone reads, admins write; every listed lesson must exist, be in use
and fit the programme's audience and age band, and each offender is named."""
from __future__ import annotations

import httpx
import pytest

from core.config import PROJECT_ROOT
from core.content.loader import check_content
from tests.api.helpers import ADMIN, World, programme_body

pytestmark = pytest.mark.usefixtures("loaded_content")

SHIPPED, _ = check_content(PROJECT_ROOT / "content")


async def test_everyone_reads_programmes(client: httpx.AsyncClient, world: World) -> None:
    for auth in (ADMIN, world.a.director_auth, world.a.supervisor_auth):
        listed = (await client.get("/api/v1/programmes", headers=auth)).json()
        assert [p["id"] for p in listed] == sorted(p.id for p in SHIPPED.programmes)
    programme = (await client.get("/api/v1/programmes/guardian_13_17", headers=world.a.director_auth)).json()
    assert programme["version"] == 1 and programme["audience"] == "guardian" and programme["age_band"] == "13-17"
    assert programme["lessons"][:2] == ["one_on_one_time", "teen_talk_side_by_side"]
    assert (await client.get("/api/v1/programmes/guardian_13_17/versions/1", headers=ADMIN)).json() == programme
    assert (await client.get("/api/v1/programmes/nope", headers=ADMIN)).status_code == 404
    assert (await client.get("/api/v1/programmes/guardian_13_17/versions/2", headers=ADMIN)).status_code == 404
    assert (await client.get("/api/v1/programmes")).status_code == 401


async def test_admin_creates_and_versions_a_programme(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/programmes", json=programme_body(), headers=ADMIN)
    assert response.status_code == 201, response.text
    v1 = response.json()
    assert v1["version"] == 1 and v1["lessons"] == ["specific_praise"]
    assert (await client.post("/api/v1/programmes", json=programme_body(), headers=ADMIN)).status_code == 409

    body = programme_body(lessons=["specific_praise", "one_on_one_time"])
    v2 = (await client.put("/api/v1/programmes/guardian_7_12_short", json=body, headers=ADMIN)).json()
    assert v2["version"] == 2 and v2["lessons"] == ["specific_praise", "one_on_one_time"]
    assert (await client.get("/api/v1/programmes/guardian_7_12_short/versions/1", headers=ADMIN)).json() == v1
    assert (await client.get("/api/v1/programmes/guardian_7_12_short", headers=ADMIN)).json() == v2
    # Unchanged: no new version.
    assert (await client.put("/api/v1/programmes/guardian_7_12_short", json=body, headers=ADMIN)).json() == v2


async def test_lesson_references_are_checked_and_every_offender_named(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/lessons/specific_praise/retire", headers=ADMIN)
    shipped = {lesson.id: lesson for lesson in SHIPPED.lessons}
    not_for_guardians = next(x.id for x in SHIPPED.lessons if "guardian" not in x.audience)
    not_for_7_12 = next(x.id for x in SHIPPED.lessons if "guardian" in x.audience and "7-12" not in x.age_bands)
    assert shipped["one_on_one_time"].age_bands  # a fitting lesson, to show good entries are not reported
    body = programme_body(lessons=["one_on_one_time", "no_such_lesson", "specific_praise", not_for_guardians,
                                   not_for_7_12])
    response = await client.post("/api/v1/programmes", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["field"] == "lessons.1"
    assert error["fields"] == [
        {"field": "lessons.1", "reason": "unknown lesson 'no_such_lesson'"},
        {"field": "lessons.2", "reason": "lesson 'specific_praise' is retired"},
        {"field": "lessons.3", "reason": f"lesson {not_for_guardians!r} is not for guardian"},
        {"field": "lessons.4", "reason": f"lesson {not_for_7_12!r} is not for ages 7-12"},
    ]
    assert "lessons.1: unknown lesson 'no_such_lesson'" in error["message"]
    # The same checks guard a new version.
    response = await client.put("/api/v1/programmes/guardian_7_12", headers=ADMIN,
                                json=programme_body("guardian_7_12", lessons=["no_such_lesson"]))
    assert response.status_code == 422 and response.json()["error"]["field"] == "lessons.0"
    assert (await client.get("/api/v1/programmes/guardian_7_12", headers=ADMIN)).json()["version"] == 1


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"version": 1}, "body.version"),
        ({"audience": "teacher"}, "body.audience"),
        ({"age_band": "5-9"}, "body.age_band"),
        ({"titles": {"zh-Hans": "只有中文"}}, "body.titles"),
        ({"lessons": []}, "body.lessons"),
        ({"lessons": ["specific_praise", "specific_praise"]}, "body.lessons"),
        ({"id": "Has Spaces"}, "body.id"),
    ],
)
async def test_programme_bodies_are_strict(client: httpx.AsyncClient, changes: dict, field: str) -> None:
    response = await client.post("/api/v1/programmes", json=programme_body(**changes), headers=ADMIN)
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


async def test_put_and_retire_errors(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/programmes/guardian_7_12", json=programme_body("other"), headers=ADMIN)
    assert response.status_code == 422 and response.json()["error"]["field"] == "id"
    assert (await client.put("/api/v1/programmes/nope", json=programme_body("nope"), headers=ADMIN)).status_code == 404

    response = await client.post("/api/v1/programmes/guardian_7_12/retire", headers=ADMIN)
    assert response.status_code == 200 and response.json()["retired_at"] == "2026-11-23T04:00:00Z"
    listed = [p["id"] for p in (await client.get("/api/v1/programmes", headers=ADMIN)).json()]
    assert "guardian_7_12" not in listed and len(listed) == 5
    listed = (await client.get("/api/v1/programmes", params={"include_retired": True}, headers=ADMIN)).json()
    assert len(listed) == 6
    assert (await client.post("/api/v1/programmes/guardian_7_12/retire", headers=ADMIN)).status_code == 409
    response = await client.put("/api/v1/programmes/guardian_7_12", json=programme_body("guardian_7_12"), headers=ADMIN)
    assert response.status_code == 409
    assert (await client.post("/api/v1/programmes/nope/retire", headers=ADMIN)).status_code == 404


async def test_only_admins_write_programmes(client: httpx.AsyncClient, world: World) -> None:
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        for method, url, body in (("POST", "/api/v1/programmes", programme_body()),
                                  ("PUT", "/api/v1/programmes/guardian_7_12", programme_body("guardian_7_12")),
                                  ("POST", "/api/v1/programmes/guardian_7_12/retire", None)):
            assert (await client.request(method, url, json=body, headers=auth)).status_code == 403, (method, url)
    assert (await client.get("/api/v1/programmes/guardian_7_12", headers=ADMIN)).json()["retired_at"] is None
