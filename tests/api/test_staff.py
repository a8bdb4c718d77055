"""Staff: creation shows secrets once and stores only hashes; admins manage, others read their own."""
from __future__ import annotations

import hashlib
from datetime import datetime, timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.main import create_app
from core.clock import FrozenClock
from core.config import Settings
from core.models import AuditLog, Staff
from tests.api.helpers import ADMIN, World, create_cohort


async def test_create_staff_shows_credentials_once(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    cohort = await create_cohort(client, "Village")
    response = await client.post(
        "/api/v1/staff",
        json={"display_name": " Wang Li ", "role": "director", "cohort_ids": [cohort["id"]],
              "primary_cohort_ids": [cohort["id"]], "locale": "en"},
        headers=ADMIN,
    )
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["display_name"] == "Wang Li" and created["role"] == "director"
    assert created["memberships"] == [{"cohort_id": cohort["id"], "is_primary": True}]
    assert created["telegram_linked"] is False
    credentials = created["credentials"]
    token, code = credentials["api_token"], credentials["telegram_link_code"]
    assert token.startswith("sw_") and len(token) > 40
    assert credentials["telegram_link"] == f"https://t.me/shouwang_test_bot?start={code}"
    expires = datetime.fromisoformat(credentials["telegram_link_expires_at"])
    assert expires == clock() + timedelta(days=7)

    # Shown once: reads never carry credentials.
    read = (await client.get(f"/api/v1/staff/{created['id']}", headers=ADMIN)).json()
    assert "credentials" not in read and token not in str(read)
    assert read == {k: v for k, v in created.items() if k != "credentials"}

    # Stored hashed: no column holds the token or the link code.
    async with sessionmaker() as session:
        row = await session.get(Staff, created["id"])
        assert row is not None
        stored = [str(getattr(row, c.key)) for c in Staff.__table__.columns]
        audit_rows = (await session.scalars(select(AuditLog))).all()
    assert row.token_hash == hashlib.sha256(token.encode()).hexdigest()
    assert row.link_code_hash == hashlib.sha256(code.encode()).hexdigest()
    assert not any(token in value or code in value for value in stored)
    assert not any(token in str(a.detail) for a in audit_rows)


async def test_link_is_null_when_bot_username_unknown(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    app = create_app(settings=settings.model_copy(update={"telegram_bot_username": None}),
                     sessionmaker=sessionmaker, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        response = await client.post("/api/v1/staff", json={"display_name": "Ada", "role": "admin"}, headers=ADMIN)
    assert response.status_code == 201
    credentials = response.json()["credentials"]
    assert credentials["telegram_link"] is None and credentials["telegram_link_code"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"display_name": "X", "role": "director"}, "body.cohort_ids"),
        ({"display_name": "X", "role": "supervisor", "cohort_ids": []}, "body.cohort_ids"),
        ({"display_name": "X", "role": "admin", "cohort_ids": ["{cohort}"]}, "body.cohort_ids"),
        ({"display_name": "X", "role": "supervisor", "cohort_ids": ["{cohort}"],
          "primary_cohort_ids": ["{cohort}"]}, "body.primary_cohort_ids"),
        ({"display_name": "X", "role": "director", "cohort_ids": ["{cohort}"], "primary_cohort_ids": [12345]},
         "body.primary_cohort_ids"),
        ({"display_name": "X", "role": "janitor", "cohort_ids": ["{cohort}"]}, "body.role"),
        ({"display_name": "  ", "role": "admin"}, "body.display_name"),
        ({"display_name": "X", "role": "admin", "locale": "fr"}, "body.locale"),
        ({"display_name": "X", "role": "admin", "token": "mine"}, "body.token"),
        ({"display_name": "X", "role": "director", "cohort_ids": [2**40]}, "body.cohort_ids.0"),
    ],
    ids=["director-no-cohort", "supervisor-empty", "admin-with-cohort", "supervisor-primary",
         "primary-not-member", "bad-role", "blank-name", "locale", "unknown-field", "huge-id"],
)
async def test_invalid_staff_is_422_naming_the_field(
    client: httpx.AsyncClient, body: dict, field: str
) -> None:
    cohort = await create_cohort(client, "Village")
    for key in ("cohort_ids", "primary_cohort_ids"):
        if key in body:
            body[key] = [cohort["id"] if v == "{cohort}" else v for v in body[key]]
    response = await client.post("/api/v1/staff", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


async def test_unknown_cohort_in_staff_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/staff", json={"display_name": "X", "role": "director", "cohort_ids": [77]}, headers=ADMIN
    )
    assert response.status_code == 422
    assert response.json()["error"] == {"code": "invalid", "message": "no such cohort: 77", "field": "cohort_ids"}


async def test_non_admins_cannot_manage_staff(client: httpx.AsyncClient, world: World) -> None:
    target = world.a.supervisor["id"]
    body = {"display_name": "Helper", "role": "director", "cohort_ids": [world.a.cohort_id]}
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        assert (await client.post("/api/v1/staff", json=body, headers=auth)).status_code == 403
        assert (await client.patch(f"/api/v1/staff/{target}", json={"active": False}, headers=auth)).status_code == 403
        assert (await client.post(f"/api/v1/staff/{target}/token", headers=auth)).status_code == 403
        assert (await client.post(f"/api/v1/staff/{target}/link-code", headers=auth)).status_code == 403


async def test_staff_reads_are_scoped(client: httpx.AsyncClient, world: World) -> None:
    admin_id = (await client.get("/api/v1/me", headers=ADMIN)).json()["id"]
    listed = [s["id"] for s in (await client.get("/api/v1/staff", headers=world.a.director_auth)).json()]
    assert listed == [world.a.director["id"], world.a.supervisor["id"]]
    everyone = [s["id"] for s in (await client.get("/api/v1/staff", headers=ADMIN)).json()]
    assert set(everyone) == {admin_id, world.a.director["id"], world.a.supervisor["id"],
                             world.b.director["id"], world.b.supervisor["id"]}

    assert (await client.get(f"/api/v1/staff/{world.a.supervisor['id']}", headers=world.a.director_auth)).status_code == 200
    for other in (world.b.director["id"], world.b.supervisor["id"], admin_id, 9999):
        response = await client.get(f"/api/v1/staff/{other}", headers=world.a.director_auth)
        assert response.status_code == 404, other


async def test_admin_updates_staff(client: httpx.AsyncClient, world: World) -> None:
    staff_id = world.a.director["id"]
    response = await client.patch(
        f"/api/v1/staff/{staff_id}",
        json={"display_name": "Li Na", "locale": "en",
              "cohort_ids": [world.a.cohort_id, world.b.cohort_id], "primary_cohort_ids": [world.b.cohort_id]},
        headers=ADMIN,
    )
    assert response.status_code == 200, response.text
    updated = response.json()
    assert updated["display_name"] == "Li Na" and updated["locale"] == "en"
    assert sorted((m["cohort_id"], m["is_primary"]) for m in updated["memberships"]) == [
        (world.a.cohort_id, False), (world.b.cohort_id, True)
    ]
    # The director now sees cohort B too.
    listed = (await client.get("/api/v1/cohorts", headers=world.a.director_auth)).json()
    assert [c["id"] for c in listed] == [world.a.cohort_id, world.b.cohort_id]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"display_name": " "}, "body.display_name"),
        ({"locale": "xx"}, "body.locale"),
        ({"role": "admin"}, "body.role"),
        ({"cohort_ids": []}, "cohort_ids"),
        ({"primary_cohort_ids": [999]}, "primary_cohort_ids"),
    ],
)
async def test_invalid_staff_update_is_422(client: httpx.AsyncClient, world: World, body: dict, field: str) -> None:
    response = await client.patch(f"/api/v1/staff/{world.a.director['id']}", json=body, headers=ADMIN)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error.get("field") == field or [f["field"] for f in error.get("fields", [])] == [field]


async def test_unknown_staff_is_404(client: httpx.AsyncClient) -> None:
    for method, url in (("GET", "/api/v1/staff/999"), ("PATCH", "/api/v1/staff/999"),
                        ("POST", "/api/v1/staff/999/token"), ("POST", "/api/v1/staff/999/link-code")):
        response = await client.request(method, url, json={} if method == "PATCH" else None, headers=ADMIN)
        assert response.status_code == 404, (method, url)


async def test_new_link_code_replaces_the_old(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    staff_id = world.a.director["id"]
    response = await client.post(f"/api/v1/staff/{staff_id}/link-code", headers=ADMIN)
    assert response.status_code == 200
    credentials = response.json()["credentials"]
    old_code = world.a.director["credentials"]["telegram_link_code"]
    assert credentials["api_token"] is None
    assert credentials["telegram_link_code"] not in (None, old_code)
    assert credentials["telegram_link"].endswith(f"?start={credentials['telegram_link_code']}")
    async with sessionmaker() as session:
        row = await session.get(Staff, staff_id)
    assert row is not None
    assert row.link_code_hash == hashlib.sha256(credentials["telegram_link_code"].encode()).hexdigest()


async def test_bootstrap_admin_cannot_be_deactivated_or_rotated(client: httpx.AsyncClient) -> None:
    admin_id = (await client.get("/api/v1/me", headers=ADMIN)).json()["id"]
    response = await client.patch(f"/api/v1/staff/{admin_id}", json={"active": False}, headers=ADMIN)
    assert response.status_code == 409 and response.json()["error"]["field"] == "active"
    assert (await client.post(f"/api/v1/staff/{admin_id}/token", headers=ADMIN)).status_code == 409
