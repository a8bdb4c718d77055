"""JSON for the busiest lists, written straight from plain rows (issue #16).

A route that returns models has FastAPI check each against its response_model and then dump
them; the models themselves cost a Python call and a validation per row — for a page of 50
alerts of 28 fields, more CPU than the query that read them. The lists read typed columns
(ints, strings, aware UTC datetimes, JSON dicts) that need no validation, so they hand their
rows as plain mappings to `json_list`, which dumps them with pydantic's own serializer for
`list[model]` — the same bytes the response_model would give (tests/api/test_responses.py
holds them to that, field for field and byte for byte). The route keeps `response_model=` in
its decorator, so OpenAPI still documents the shape.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import Any

from fastapi import Response
from pydantic import BaseModel, TypeAdapter


@cache
def _adapter(model: type[BaseModel]) -> TypeAdapter[Any]:
    return TypeAdapter(list[model])  # type: ignore[valid-type]


@cache
def _fields(model: type[BaseModel]) -> tuple[str, ...]:
    return tuple(model.model_fields)


def list_json(model: type[BaseModel], rows: Iterable[Mapping[Any, Any]]) -> bytes:
    """`rows` as the JSON array `list[model]` would dump: each row's values of the model's
    fields, in the model's order (other keys are left out; a missing field is a KeyError, never
    a silently absent key). The values must already have the fields' types: nothing is
    validated or converted here."""
    fields = _fields(model)
    # warnings=False: pydantic would warn that each item is a dict, not a `model` instance;
    # dicts of the fields' own types are dumped exactly as the instances would be.
    return _adapter(model).dump_json([{name: row[name] for name in fields} for row in rows], warnings=False)


def json_list(model: type[BaseModel], rows: Iterable[Mapping[Any, Any]],
              headers: Mapping[str, str] | None = None) -> Response:
    """A 200 response of `rows` as `list[model]` (see list_json)."""
    return Response(list_json(model, rows), media_type="application/json", headers=headers)
