"""A fuzz-ish walk of the API's own OpenAPI document: every string, date and date-time
parameter and every body field of every operation gets the inputs that once gave 500s (NUL
and other control characters, lone surrogates, 5,000-character strings, instants at the ends of
the calendar with far offsets, numbers for timestamps, legacy time zones, invisible names).
Nothing may answer 500; every refusal is the one JSON error shape, and a 422 names its field.

Runs on every engine (the `db_url` fixture): PostgreSQL refuses NUL where SQLite stores it.
"""
from __future__ import annotations

import copy
import json
import logging
from typing import Any
from urllib.parse import quote

import httpx
import pytest
from fastapi import FastAPI

from tests.api.helpers import ADMIN, World

BAD_STRINGS: list[Any] = [
    "a\x00b", "\x07\x1b[31m", "\u200b\u200b\u3164", "x" * 5000, "Factory", "EST5EDT",
    "0001-01-01T00:00:00+14:00", "9999-12-31T23:59:59-14:00", "9999-12-31", "0001-01-01", "1700000000", "1e309",
]
# JSON bodies can also carry what a URL cannot: lone surrogates, numbers and other types.
BAD_JSON: list[Any] = [*BAD_STRINGS, "\ud800", 1700000000, -(2**63), 1e308, None, {"\x00": "\x00"}]
TEXT_TYPES = {"string"}


def _resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    if "anyOf" in schema:
        options = [s for s in schema["anyOf"] if s.get("type") != "null"]
        if options:
            return _resolve(options[0], spec)
    return schema


def _example(schema: dict[str, Any], spec: dict[str, Any], depth: int = 0) -> Any:
    """A plausible value for a schema: enough for the request to reach the field being fuzzed."""
    schema = _resolve(schema, spec)
    if "default" in schema:
        return copy.deepcopy(schema["default"])
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object":
        if depth > 3:
            return {}
        props = schema.get("properties", {})
        return {name: _example(props[name], spec, depth + 1) for name in schema.get("required", [])}
    if kind == "array":
        return []
    if kind == "integer":
        return max(1, schema.get("minimum", 1))
    if kind == "number":
        return 1
    if kind == "boolean":
        return False
    if schema.get("format") == "date-time":
        return "2027-01-01T10:00:00+08:00"
    if schema.get("format") == "date":
        return "2026-11-01"
    return "x"


def _body_paths(schema: dict[str, Any], spec: dict[str, Any], prefix: tuple[str, ...] = (),
                depth: int = 0) -> list[tuple[str, ...]]:
    """Every property of the body down to two levels (any type: a number where text or a
    date is expected is a bad input too)."""
    schema = _resolve(schema, spec)
    paths: list[tuple[str, ...]] = []
    for name, sub in schema.get("properties", {}).items():
        paths.append((*prefix, name))
        if depth < 1 and _resolve(sub, spec).get("type") == "object":
            paths += _body_paths(sub, spec, (*prefix, name), depth + 1)
    return paths


def _set(body: Any, path: tuple[str, ...], value: Any) -> Any:
    body = copy.deepcopy(body) if isinstance(body, dict) else {}
    target = body
    for part in path[:-1]:
        if not isinstance(target.get(part), dict):
            target[part] = {}
        target = target[part]
    target[path[-1]] = value
    return body


def _requests(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any], Any, str]]:
    """(method, url, query, json body, what) for every mutation of every operation."""
    out = []
    for template, operations in spec["paths"].items():
        for method, op in operations.items():
            params = [p for p in op.get("parameters", []) if p["in"] in ("path", "query")]
            path_values = {p["name"]: _example(p["schema"], spec) for p in params if p["in"] == "path"}
            body_schema = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            base_body = _example(body_schema, spec) if body_schema else None

            def url(values: dict[str, Any]) -> str:
                result = template
                for name, value in values.items():
                    result = result.replace("{" + name + "}", quote(str(value), safe=""))
                return result

            for p in params:
                kind = _resolve(p["schema"], spec)
                if kind.get("type") not in TEXT_TYPES and p["in"] == "path":
                    continue  # integer path ids: covered by the id tests; "x" there is a plain 422
                for value in BAD_STRINGS:
                    if p["in"] == "path":
                        out.append((method, url({**path_values, p["name"]: value}), {}, base_body,
                                    f"{method} {template} path {p['name']}={value!r:.30}"))
                    else:
                        out.append((method, url(path_values), {p["name"]: value}, base_body,
                                    f"{method} {template} query {p['name']}={value!r:.30}"))
            if body_schema:
                paths = _body_paths(body_schema, spec)
                resolved = _resolve(body_schema, spec)
                for field in paths:
                    for value in BAD_JSON:
                        out.append((method, url(path_values), {}, _set(base_body, field, value),
                                    f"{method} {template} body {'.'.join(field)}={value!r:.30}"))
                if resolved.get("additionalProperties"):  # a map: bad keys and bad entries
                    for value in BAD_STRINGS[:6]:
                        out.append((method, url(path_values), {}, {value: {}},
                                    f"{method} {template} body key {value!r:.30}"))
    return out


@pytest.fixture
def quiet_access_log() -> None:
    logging.getLogger("shouwang.access").setLevel(logging.WARNING)


@pytest.mark.usefixtures("quiet_access_log")
async def test_no_bad_input_gives_a_500(app: FastAPI, client: httpx.AsyncClient, world: World,
                                        caplog: pytest.LogCaptureFixture) -> None:
    spec = app.openapi()
    requests = _requests(spec)
    assert len(requests) > 1000  # the walk really covers the API
    failures = []
    for method, url, query, body, what in requests:
        kwargs: dict[str, Any] = {"params": query, "headers": ADMIN}
        if body is not None:
            # ASCII-escaped JSON, so a lone surrogate travels as \ud800 (httpx would refuse it).
            kwargs["content"] = json.dumps(body)
            kwargs["headers"] = {**ADMIN, "Content-Type": "application/json"}
        response = await client.request(method.upper(), url, **kwargs)
        if response.status_code >= 500:
            failures.append(f"{what}: {response.status_code}")
            continue
        if response.status_code >= 400:
            error = response.json().get("error") or {}
            if not (error.get("code") and error.get("message")):
                failures.append(f"{what}: {response.status_code} without the error shape: {response.text[:120]}")
            elif response.status_code == 422 and not (error.get("field") or error.get("fields")):
                failures.append(f"{what}: 422 names no field: {response.text[:120]}")
    assert failures == [], f"{len(failures)} of {len(requests)} requests:\n" + "\n".join(failures[:40])
    assert "unhandled" not in caplog.text
