"""One error shape for everything, and no 500s for bad input."""
from __future__ import annotations

import httpx
import pytest

from tests.api.helpers import ADMIN, World


async def test_unknown_route_and_method_use_the_error_shape(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/nothing-here", headers=ADMIN)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
    response = await client.delete("/api/v1/cohorts", headers=ADMIN)
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize(
    ("method", "url", "field"),
    [
        ("GET", "/api/v1/cohorts/abc", "path.cohort_id"),
        ("GET", "/api/v1/cohorts/0", "path.cohort_id"),
        ("GET", f"/api/v1/cohorts/{2**40}", "path.cohort_id"),
        ("GET", f"/api/v1/households/{2**70}", "path.household_id"),
        ("GET", "/api/v1/invitations/-1/qr.png", "path.invitation_id"),
        ("PATCH", f"/api/v1/children/{2**31}", "path.child_id"),
        ("GET", "/api/v1/staff/1.5", "path.staff_id"),
    ],
)
async def test_bad_path_ids_are_422(client: httpx.AsyncClient, method: str, url: str, field: str) -> None:
    response = await client.request(method, url, json={} if method == "PATCH" else None, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["fields"][0]["field"] == field


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2]", b'"a string"', b"null", b""],
    ids=["broken", "array", "string", "null", "empty"],
)
async def test_bodies_that_are_not_objects_are_422(client: httpx.AsyncClient, content: bytes) -> None:
    response = await client.post("/api/v1/cohorts", content=content,
                                 headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid" and error["fields"]


async def test_wrong_types_are_422(client: httpx.AsyncClient, world: World) -> None:
    cases = [
        ("/api/v1/cohorts", {"name": 5}, "body.name"),
        ("/api/v1/cohorts", {"name": "A", "lesson_schedule": [1]}, "body.lesson_schedule"),
        ("/api/v1/staff", {"display_name": "A", "role": "director", "cohort_ids": "1"}, "body.cohort_ids"),
        (f"/api/v1/cohorts/{world.a.cohort_id}/invitations", {"max_uses": 10**12}, "body.max_uses"),
    ]
    for url, body, field in cases:
        response = await client.post(url, json=body, headers=ADMIN)
        assert response.status_code == 422, (url, body, response.text)
        assert [f["field"] for f in response.json()["error"]["fields"]] == [field]
