"""Cohort invitations: deep links, poster QR codes, scoping, revocation."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
import segno
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.main import create_app
from core.clock import FrozenClock
from core.config import Settings
from core.models import Invitation
from tests.api.helpers import ADMIN, World
from tests.api.pngread import modules, read_bilevel_png


async def _invite(client: httpx.AsyncClient, cohort_id: int, headers: dict, **body: object) -> httpx.Response:
    return await client.post(f"/api/v1/cohorts/{cohort_id}/invitations", json=body, headers=headers)


async def test_director_creates_an_invitation(client: httpx.AsyncClient, world: World, clock: FrozenClock) -> None:
    expires = (clock() + timedelta(days=30)).isoformat()
    response = await _invite(client, world.a.cohort_id, world.a.director_auth,
                             label=" Poster at the school gate ", expires_at=expires, max_uses=40)
    assert response.status_code == 201, response.text
    invitation = response.json()
    code = invitation["code"]
    assert len(code) == 12
    assert invitation["label"] == "Poster at the school gate"
    assert invitation["deep_link"] == f"https://t.me/shouwang_test_bot?start={code}"
    assert invitation["web_link"] == f"http://127.0.0.1:8000/m/join/{code}"
    assert invitation["usable"] is True and invitation["uses"] == 0 and invitation["max_uses"] == 40
    assert invitation["expires_at"] == "2026-12-23T04:00:00Z"

    assert (await client.get(f"/api/v1/invitations/{invitation['id']}", headers=world.a.supervisor_auth)).json() == invitation
    listed = (await client.get(f"/api/v1/cohorts/{world.a.cohort_id}/invitations", headers=ADMIN)).json()
    assert listed == [invitation]


async def test_admin_creates_with_defaults(client: httpx.AsyncClient, world: World) -> None:
    response = await _invite(client, world.b.cohort_id, ADMIN)
    assert response.status_code == 201
    body = response.json()
    assert (body["label"], body["expires_at"], body["max_uses"], body["usable"]) == ("", None, None, True)


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"expires_at": "2026-11-22T12:00:00+08:00"}, "expires_at"),
        ({"expires_at": "2027-01-01T00:00:00"}, "body.expires_at"),  # naive: caught by the shared Timestamp type
        ({"expires_at": "next tuesday"}, "body.expires_at"),
        ({"max_uses": 0}, "body.max_uses"),
        ({"max_uses": -5}, "body.max_uses"),
        ({"label": "x" * 201}, "body.label"),
        ({"code": "mine"}, "body.code"),
    ],
    ids=["past", "naive", "not-a-time", "zero-uses", "negative-uses", "long-label", "unknown-field"],
)
async def test_invalid_invitation_is_422(client: httpx.AsyncClient, world: World, body: dict, field: str) -> None:
    response = await _invite(client, world.a.cohort_id, world.a.director_auth, **body)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    named = [error["field"]] if "field" in error else [f["field"] for f in error["fields"]]
    assert named == [field]


async def test_supervisor_cannot_create_or_revoke(client: httpx.AsyncClient, world: World) -> None:
    assert (await _invite(client, world.a.cohort_id, world.a.supervisor_auth)).status_code == 403
    invitation = (await _invite(client, world.a.cohort_id, world.a.director_auth)).json()
    response = await client.post(f"/api/v1/invitations/{invitation['id']}/revoke", headers=world.a.supervisor_auth)
    assert response.status_code == 403


async def test_other_cohorts_invitations_are_404(client: httpx.AsyncClient, world: World) -> None:
    theirs = (await _invite(client, world.b.cohort_id, world.b.director_auth)).json()
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        assert (await _invite(client, world.b.cohort_id, auth)).status_code == 404
        assert (await client.get(f"/api/v1/cohorts/{world.b.cohort_id}/invitations", headers=auth)).status_code == 404
        for suffix in ("", "/qr.png"):
            assert (await client.get(f"/api/v1/invitations/{theirs['id']}{suffix}", headers=auth)).status_code == 404
        assert (await client.post(f"/api/v1/invitations/{theirs['id']}/revoke", headers=auth)).status_code == 404
    # Still usable: nothing above touched it.
    assert (await client.get(f"/api/v1/invitations/{theirs['id']}", headers=ADMIN)).json()["usable"] is True


async def test_unknown_ids_are_404(client: httpx.AsyncClient) -> None:
    assert (await _invite(client, 999, ADMIN)).status_code == 404
    assert (await client.get("/api/v1/cohorts/999/invitations", headers=ADMIN)).status_code == 404
    for url in ("/api/v1/invitations/999", "/api/v1/invitations/999/qr.png"):
        assert (await client.get(url, headers=ADMIN)).status_code == 404
    assert (await client.post("/api/v1/invitations/999/revoke", headers=ADMIN)).status_code == 404


@pytest.mark.parametrize(("target", "field"), [("", "web_link"), ("?target=web", "web_link"),
                                              ("?target=telegram", "deep_link")])
async def test_qr_code_is_a_png_of_the_link(client: httpx.AsyncClient, world: World, target: str, field: str) -> None:
    invitation = (await _invite(client, world.a.cohort_id, world.a.director_auth)).json()
    response = await client.get(f"/api/v1/invitations/{invitation['id']}/qr.png{target}",
                                headers=world.a.supervisor_auth)
    assert response.status_code == 200
    assert response.headers["content-type"] == "image/png"
    assert "no-store" in response.headers["cache-control"]
    assert response.content.startswith(b"\x89PNG")
    # The picture's modules are exactly the QR code of the link (a full QR, not Micro QR): by
    # default the web enrolment page, which opens inside China; Telegram's on request.
    expected = segno.make_qr(invitation[field], error="m")
    grid = modules(read_bilevel_png(response.content), scale=8, border=4)
    assert grid == [[bool(m) for m in row] for row in expected.matrix]
    assert not expected.is_micro


async def test_links_start_at_the_public_address(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, world: World
) -> None:
    app = create_app(settings=settings.model_copy(update={"public_url": "https://sw.example.cn/"}),
                     sessionmaker=sessionmaker, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        invitation = (await _invite(client, world.a.cohort_id, ADMIN)).json()
        bad = await client.get(f"/api/v1/invitations/{invitation['id']}/qr.png?target=fax", headers=ADMIN)
    assert invitation["web_link"] == f"https://sw.example.cn/m/join/{invitation['code']}"
    assert bad.status_code == 422


async def test_qr_code_needs_the_bot_username(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, world: World
) -> None:
    app = create_app(settings=settings.model_copy(update={"telegram_bot_username": None}),
                     sessionmaker=sessionmaker, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        invitation = (await _invite(client, world.a.cohort_id, ADMIN)).json()
        assert invitation["deep_link"] is None
        response = await client.get(f"/api/v1/invitations/{invitation['id']}/qr.png?target=telegram",
                                    headers=ADMIN)
    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "bot_username_unknown"
    assert "SHOUWANG_TELEGRAM_BOT_USERNAME" in error["message"]


async def test_revoke_makes_it_unusable(client: httpx.AsyncClient, world: World) -> None:
    invitation = (await _invite(client, world.a.cohort_id, world.a.director_auth)).json()
    url = f"/api/v1/invitations/{invitation['id']}"
    response = await client.post(f"{url}/revoke", headers=world.a.director_auth)
    assert response.status_code == 200
    assert response.json()["usable"] is False
    assert response.json()["revoked_at"] == "2026-11-23T04:00:00Z"
    assert (await client.get(url, headers=world.a.director_auth)).json()["usable"] is False
    again = await client.post(f"{url}/revoke", headers=ADMIN)
    assert again.status_code == 409 and again.json()["error"]["code"] == "conflict"


async def test_usable_follows_expiry_and_uses(
    client: httpx.AsyncClient, world: World, clock: FrozenClock, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    expiring = (await _invite(client, world.a.cohort_id, ADMIN,
                              expires_at=(clock() + timedelta(hours=1)).isoformat())).json()
    limited = (await _invite(client, world.a.cohort_id, ADMIN, max_uses=2)).json()
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Invitation).where(Invitation.id == limited["id"]).values(uses=2))
    assert (await client.get(f"/api/v1/invitations/{limited['id']}", headers=ADMIN)).json()["usable"] is False
    assert (await client.get(f"/api/v1/invitations/{expiring['id']}", headers=ADMIN)).json()["usable"] is True
    clock.advance(hours=1)
    assert (await client.get(f"/api/v1/invitations/{expiring['id']}", headers=ADMIN)).json()["usable"] is False
