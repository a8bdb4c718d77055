"""Bearer-token authentication: staff tokens, the bootstrap admin, and every way to be refused."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.main import create_app
from core.clock import FrozenClock
from core.config import Settings
from core.models import AuditLog, Staff
from tests.api.helpers import ADMIN, World, bearer, create_cohort


def assert_401(response: httpx.Response) -> None:
    assert response.status_code == 401, response.text
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.json()["error"]["code"] == "unauthorized"


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Authorization": "Bearer "},
        {"Authorization": "Bearer not-a-token"},
        {"Authorization": "Basic dGVzdC1hZG1pbi10b2tlbjo="},
        {"Authorization": "test-admin-token"},
    ],
    ids=["none", "empty", "unknown", "basic-scheme", "no-scheme"],
)
async def test_missing_or_bad_token_is_401(client: httpx.AsyncClient, headers: dict[str, str]) -> None:
    assert_401(await client.get("/api/v1/me", headers=headers))
    assert_401(await client.get("/api/v1/cohorts", headers=headers))


async def test_admin_token_creates_a_real_bootstrap_staff_row(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    response = await client.get("/api/v1/me", headers=ADMIN)
    assert response.status_code == 200, response.text
    me = response.json()
    assert me["role"] == "admin" and me["active"] is True and me["memberships"] == []

    cohort = await create_cohort(client, "Village")
    async with sessionmaker() as session:
        staff = (await session.scalars(select(Staff))).all()
        assert [(s.id, s.is_bootstrap) for s in staff] == [(me["id"], True)]
        assert "test-admin-token" not in {staff[0].token_hash, staff[0].display_name}
    # The same admin on every request: no second bootstrap row.
    assert (await client.get("/api/v1/me", headers=ADMIN)).json()["id"] == me["id"]
    assert cohort["id"] > 0


async def test_staff_token_identifies_its_staff(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get("/api/v1/me", headers=world.a.director_auth)
    assert response.status_code == 200
    me = response.json()
    assert me["id"] == world.a.director["id"]
    assert me["role"] == "director"
    assert me["memberships"] == [{"cohort_id": world.a.cohort_id, "is_primary": True}]
    assert "credentials" not in me


async def test_deactivated_staff_is_401(client: httpx.AsyncClient, world: World) -> None:
    staff_id = world.a.director["id"]
    response = await client.patch(f"/api/v1/staff/{staff_id}", json={"active": False}, headers=ADMIN)
    assert response.status_code == 200 and response.json()["active"] is False
    assert_401(await client.get("/api/v1/me", headers=world.a.director_auth))

    await client.patch(f"/api/v1/staff/{staff_id}", json={"active": True}, headers=ADMIN)
    assert (await client.get("/api/v1/me", headers=world.a.director_auth)).status_code == 200


async def test_rotated_token_replaces_the_old_one(client: httpx.AsyncClient, world: World) -> None:
    staff_id = world.a.director["id"]
    response = await client.post(f"/api/v1/staff/{staff_id}/token", headers=ADMIN)
    assert response.status_code == 200
    new_token = response.json()["credentials"]["api_token"]
    assert new_token and new_token != world.a.director["credentials"]["api_token"]
    assert_401(await client.get("/api/v1/me", headers=world.a.director_auth))
    assert (await client.get("/api/v1/me", headers=bearer(new_token))).json()["id"] == staff_id


async def test_a_new_admin_token_rekeys_the_same_bootstrap_admin(
    client: httpx.AsyncClient,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    admin_id = (await client.get("/api/v1/me", headers=ADMIN)).json()["id"]

    changed = settings.model_copy(update={"admin_token": "a-new-admin-token"})
    app = create_app(settings=changed, sessionmaker=sessionmaker, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as other:
        assert (await other.get("/api/v1/me", headers=bearer("a-new-admin-token"))).json()["id"] == admin_id
        # Re-keyed: the old token is gone with the old hash.
        assert_401(await other.get("/api/v1/me", headers=ADMIN))
    async with sessionmaker() as session:
        assert len((await session.scalars(select(Staff))).all()) == 1


async def test_bootstrap_admin_is_named_in_the_audit_log(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    admin_id = (await client.get("/api/v1/me", headers=ADMIN)).json()["id"]
    async with sessionmaker() as session:
        rows = (await session.scalars(select(AuditLog).where(AuditLog.entity == "staff"))).all()
    created = {r.entity_id: r.staff_id for r in rows if r.action == "create"}
    assert created == {
        world.a.director["id"]: admin_id,
        world.a.supervisor["id"]: admin_id,
        world.b.director["id"]: admin_id,
        world.b.supervisor["id"]: admin_id,
    }
