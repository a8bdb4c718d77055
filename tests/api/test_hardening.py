"""The API holds under bad input and abuse (issue #16): each input that once gave a 500 is a 4xx
JSON naming the field and the reason; bodies are limited and refused before they are read,
unauthenticated ones before anything is read; repeated bad tokens from one address are slowed
down (429) and logged without the token; every request leaves an access-log line without its
query string or body; a 500 logs the exception type and route only; OpenAPI documents the
error answers. On every engine."""
from __future__ import annotations

import logging
from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import text

from core.clock import FrozenClock
from tests.api.helpers import ADMIN, World, bearer

MB = 1024 * 1024


def _error(response: httpx.Response) -> dict:
    assert response.headers["content-type"].startswith("application/json"), response.text
    return response.json()["error"]


def _fields(response: httpx.Response) -> list[str]:
    error = _error(response)
    return [f["field"] for f in error["fields"]] if error.get("fields") else [error["field"]]


# ---------------------------------------------------------------- bad input: 422 naming the field


@pytest.mark.parametrize(
    ("url", "params", "field", "reason"),
    [
        ("/api/v1/alerts", {"since": "0001-01-01T00:00:00+14:00"}, "query.since", "between 1970-01-01 and 2199-12-31"),
        ("/api/v1/alerts", {"since": "9999-12-31T23:59:59-14:00"}, "query.since", "between 1970-01-01 and 2199-12-31"),
        ("/api/v1/alerts", {"since": "1700000000"}, "query.since", "ISO 8601"),
        ("/api/v1/audit", {"until": "1700000000.5"}, "query.until", "ISO 8601"),
        ("/api/v1/audit", {"entity": "a\x00b"}, "query.entity", "control character (U+0000)"),
        ("/api/v1/cohorts/1/reports/funnel", {"to": "9999-12-31"}, "query.to", "between 1970-01-01 and 2199-12-31"),
        ("/api/v1/cohorts/1/reports/funnel", {"from": "0001-01-01"}, "query.from", "between 1970-01-01"),
        ("/api/v1/cohorts/1/reports/funnel", {"to": "20261231"}, "query.to", "YYYY-MM-DD"),
        ("/api/v1/cohorts/1/deliveries/stats", {"until": "9999-12-31T23:59:59-14:00"}, "query.until", "between"),
    ],
    ids=["far-past-offset", "far-future-offset", "number-since", "number-until", "nul-in-query", "funnel-to-9999",
         "funnel-from-0001", "funnel-compact-date", "stats-until"],
)
async def test_bad_times_and_text_in_the_query_are_422(client: httpx.AsyncClient, world: World, url: str,
                                                       params: dict, field: str, reason: str) -> None:
    response = await client.get(url, params=params, headers=ADMIN)
    assert response.status_code == 422, response.text
    problem = _error(response)["fields"][0]
    assert problem["field"] == field and reason in problem["reason"], problem


@pytest.mark.parametrize("zone", ["Factory", "EST5EDT", "US/Pacific", "Etc/GMT-8", "x" * 5000, "Asia/" + "x" * 5000,
                                  "../../etc/passwd"])
async def test_only_canonical_time_zones(client: httpx.AsyncClient, zone: str) -> None:
    for response in (
        await client.post("/api/v1/cohorts", json={"name": "C", "timezone": zone}, headers=ADMIN),
        await client.patch("/api/v1/cohorts/1", json={"timezone": zone}, headers=ADMIN),
    ):
        assert response.status_code == 422, response.text
        assert _fields(response) == ["body.timezone"]
        assert "time zone" in response.text and len(response.text) < 1000  # the 5,000 characters are not echoed


async def test_canonical_zones_and_utc_are_taken(client: httpx.AsyncClient, world: World) -> None:
    for zone in ("UTC", "America/Argentina/Buenos_Aires", "Asia/Urumqi"):
        response = await client.patch(f"/api/v1/cohorts/{world.a.cohort_id}", json={"timezone": zone}, headers=ADMIN)
        assert response.status_code == 200 and response.json()["timezone"] == zone


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "Village\x00"}, "body.name"),
        ({"name": "ok", "region": "a\x1b[2Jb"}, "body.region"),
        ({"name": "ok", "safety_lines": [{"number": "0939-8212345", "labels": {"en": "x\x00", "zh-Hans": "y"}}]},
         "body.safety_lines.0.labels.en"),
        ({"name": "\ud800"}, "body.name"),
    ],
    ids=["nul", "escape", "nested-nul", "lone-surrogate"],
)
async def test_control_characters_in_any_body_field_are_422(client: httpx.AsyncClient, body: dict,
                                                            field: str) -> None:
    import json

    response = await client.post("/api/v1/cohorts", content=json.dumps(body),
                                 headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 422, response.text
    assert _fields(response) == [field]


async def test_tabs_and_line_breaks_are_text(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/cohorts", json={"name": "A", "region": "line one\r\nline two\tend"},
                                 headers=ADMIN)
    assert response.status_code == 201 and response.json()["region"] == "line one\r\nline two\tend"


@pytest.mark.parametrize("nickname", ["\u200b\u200b\u200b", "\u200d", " \u3164 ", "\u2800", "\ufeff\u200e"])
async def test_an_invisible_nickname_is_refused(client: httpx.AsyncClient, world: World, nickname: str) -> None:
    response = await client.patch(f"/api/v1/children/{world.a.child_id}", json={"nickname": nickname},
                                  headers=world.a.director_auth)
    assert response.status_code == 422, response.text
    assert _fields(response) == ["nickname"] and _error(response)["code"] == "nickname_empty"


async def test_a_number_is_not_a_timestamp_in_a_body(client: httpx.AsyncClient, world: World) -> None:
    response = await client.post("/api/v1/campaigns", json={"title": "T", "send_at": 1800000000, "texts": {
        "zh-Hans": "你好", "en": "Hello"}}, headers=ADMIN)
    assert response.status_code == 422 and _fields(response) == ["body.send_at"]


# ---------------------------------------------------------------- bodies: limit, and auth first


class CountingBody:
    """A request body streamed in 1 MB chunks that counts what the server pulled."""

    def __init__(self, total: int) -> None:
        self.total = total
        self.pulled = 0

    async def __aiter__(self) -> AsyncIterator[bytes]:
        chunk = b"x" * MB
        while self.pulled < self.total:
            self.pulled += len(chunk)
            yield chunk


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "chunked"])
async def test_an_unauthenticated_100_mb_body_is_refused_unread(client: httpx.AsyncClient, declared: bool) -> None:
    body = CountingBody(100 * MB)
    headers = {"Content-Type": "application/json", "Authorization": "Bearer sw_not-a-token"}
    if declared:
        headers["Content-Length"] = str(100 * MB)
    response = await client.post("/api/v1/cohorts", content=body, headers=headers)
    assert response.status_code == 401 and _error(response)["code"] == "unauthorized"
    assert body.pulled == 0
    no_token = CountingBody(100 * MB)
    response = await client.post("/api/v1/cohorts", content=no_token, headers={"Content-Type": "application/json"})
    assert response.status_code == 401 and no_token.pulled == 0


async def test_a_body_over_the_limit_is_413(client: httpx.AsyncClient) -> None:
    # Declared: refused before a byte is read.
    declared = CountingBody(100 * MB)
    response = await client.post("/api/v1/cohorts", content=declared,
                                 headers={**ADMIN, "Content-Type": "application/json", "Content-Length": str(100 * MB)})
    assert response.status_code == 413 and _error(response) == {
        "code": "too_large", "message": f"the request body is larger than {MB} bytes", "field": "body"}
    assert declared.pulled == 0
    # Streamed without a length: counted, and refused as soon as it passes the limit.
    streamed = CountingBody(100 * MB)
    response = await client.post("/api/v1/cohorts", content=streamed, headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 413 and streamed.pulled <= 2 * MB
    # Just under the limit is read and validated as usual.
    response = await client.post("/api/v1/cohorts", json={"name": "A", "region": "x" * (MB - 100)}, headers=ADMIN)
    assert response.status_code == 422 and _fields(response) == ["body.region"]


async def test_the_limit_is_a_setting(settings, sessionmaker, clock) -> None:  # type: ignore[no-untyped-def]
    from api.main import create_app

    app = create_app(settings=settings.model_copy(update={"max_body_bytes": 2048}), sessionmaker=sessionmaker,
                     clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as small:
        response = await small.post("/api/v1/cohorts", json={"name": "A", "region": "x" * 3000}, headers=ADMIN)
    assert response.status_code == 413


# ---------------------------------------------------------------- repeated bad tokens


async def test_repeated_bad_tokens_are_slowed_down_and_logged(client: httpx.AsyncClient, world: World,
                                                               clock: FrozenClock,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO)
    for attempt in range(20):
        # GETs (checked by the route) and POSTs (checked before the body) count alike.
        if attempt % 2:
            response = await client.get("/api/v1/me", headers=bearer(f"sw_guess-{attempt}"))
        else:
            response = await client.post("/api/v1/cohorts", json={"name": "x"}, headers=bearer(f"sw_guess-{attempt}"))
        assert response.status_code == 401, (attempt, response.text)
        clock.advance(seconds=1)
    # The 21st try within the minute — even with a valid token — is 429 until the first failure ages out.
    for auth in (bearer("sw_guess-21"), world.a.director_auth):
        response = await client.get("/api/v1/me", headers=auth)
        assert response.status_code == 429 and response.headers["Retry-After"] == "40"
        assert _error(response)["code"] == "too_many_requests"
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert warnings == ["20 failed sign-ins from 127.0.0.1 within 60s; refusing it for a while"]
    assert "sw_guess" not in caplog.text
    clock.advance(seconds=41)
    assert (await client.get("/api/v1/me", headers=world.a.director_auth)).status_code == 200


async def test_a_few_bad_tokens_are_only_401(client: httpx.AsyncClient, world: World) -> None:
    for _ in range(19):
        assert (await client.get("/api/v1/me", headers=bearer("sw_wrong"))).status_code == 401
    assert (await client.get("/api/v1/me", headers=world.a.director_auth)).status_code == 200


# ---------------------------------------------------------------- logs


async def test_the_access_log_has_no_query_or_body(client: httpx.AsyncClient, world: World,
                                                   caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="shouwang.access")
    await client.get("/api/v1/cases/999", params={"secret": "13912345678"}, headers=world.a.director_auth)
    await client.post(f"/api/v1/cases/{999}/notes", json={"text": "奶奶说 13912345678"}, headers=world.a.director_auth)
    await client.get("/api/v1/me", headers=bearer("sw_secret-token"))
    lines = [r.getMessage() for r in caplog.records if r.name == "shouwang.access"]
    director = world.a.director["id"]
    assert [line.rsplit(" ", 2)[0] + " " + line.rsplit(" ", 1)[1] for line in lines] == [
        f"GET /api/v1/cases/{{case_id}} 404 staff={director}",
        f"POST /api/v1/cases/{{case_id}}/notes 404 staff={director}",
        "GET /api/v1/me 401 staff=-",
    ]
    assert all(line.split(" ")[3].endswith("ms") for line in lines)
    assert "13912345678" not in caplog.text and "secret" not in caplog.text


async def test_a_500_logs_the_type_and_route_never_sql_parameters(app: FastAPI, client: httpx.AsyncClient,
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    async def broken(note: str) -> None:
        async with app.state.sessionmaker() as session:
            await session.execute(text("SELECT no_such_column FROM staff WHERE display_name = :note"), {"note": note})

    app.add_api_route("/api/v1/broken", broken, methods=["GET"])
    caplog.set_level(logging.INFO)
    response = await client.get("/api/v1/broken", params={"note": "grandma-13912345678"}, headers=ADMIN)
    assert response.status_code == 500 and _error(response)["code"] == "internal_error"
    errors = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and errors[0].getMessage().startswith("unhandled ") and (
        " on GET /api/v1/broken\n" in errors[0].getMessage())
    ours = [r.getMessage() for r in caplog.records if r.name != "httpx"]  # httpx: the test client's own log
    assert ours and not any("13912345678" in m for m in ours) and "no_such_column" not in response.text


async def test_the_engine_hides_sql_parameters(app: FastAPI) -> None:
    async with app.state.sessionmaker() as session:
        try:
            await session.execute(text("SELECT no_such_column FROM staff WHERE display_name = :v"), {"v": "13912345678"})
        except Exception as exc:  # noqa: BLE001
            assert "13912345678" not in str(exc) and "hidden" in str(exc)
        else:
            pytest.fail("the statement should fail")


# ---------------------------------------------------------------- OpenAPI


def test_every_operation_documents_its_error_answers(app: FastAPI) -> None:
    spec = app.openapi()
    missing = []
    for path, operations in spec["paths"].items():
        expected = {"413", "422"} if not path.startswith("/api/v1/") else {
            "401", "403", "404", "409", "413", "422", "429"}
        for method, op in operations.items():
            for status in expected:
                schema = op["responses"].get(status, {}).get("content", {}).get("application/json", {}).get("schema")
                if schema != {"$ref": "#/components/schemas/ErrorBody"}:
                    missing.append(f"{method.upper()} {path} {status}")
    assert missing == []
    assert spec["components"]["schemas"]["ErrorBody"]["properties"]["error"] == {
        "$ref": "#/components/schemas/ErrorDetail"}
