"""api.responses: the lists dumped from plain rows give exactly the bytes their response_model
would (FastAPI validates the returned value against it, then dumps it), and OpenAPI still
documents the model (issue #16)."""
from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from pydantic import BaseModel, TypeAdapter
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.responses import list_json
from api.schemas import AuditEntryRead
from core.alerts.schemas import AlertRead, CaseRead
from core.clock import FrozenClock
from core.models import AuditLog, Case, Guardian
from tests.api.helpers import ADMIN, World
from tests.api.test_alerts import Alerts, alerts  # noqa: F401 — the fixture

UTC = timezone.utc


def as_the_response_model_would(model: type[BaseModel], value: Any) -> bytes:
    """What FastAPI does with a route's return value: validate against list[model], then dump."""
    adapter: TypeAdapter[Any] = TypeAdapter(list[model])  # type: ignore[valid-type]
    return adapter.dump_json(adapter.validate_python(value))


def alert_values(**changes: Any) -> dict[str, Any]:
    values = dict(
        id=7, cohort_id=1, subject_key="child:3", child_id=3, household_id=2, guardian_id=None, severity="red",
        audience="child", rule_id="safety_self_harm", source="weekly_checkin", source_version=2,
        reason="孩子说不想活了", rule_reason="自伤风险", status="open",
        evidence={"answers": {"q1": 3, "note": "晚上睡不好\n"}, "check_in_ids": [4, 5], "score": 12.5},
        occurrences=2, created_at=datetime(2026, 11, 23, 4, 0, tzinfo=UTC),
        last_seen_at=datetime(2026, 11, 23, 4, 0, 0, 123456, tzinfo=UTC), check_in_id=5, case_id=None,
        acknowledged_at=None, acknowledged_by_staff_id=None, resolved_at=None, resolved_by_staff_id=None, outcome=None,
        escalation_level=0, escalate_at=datetime(2026, 11, 23, 12, 0, tzinfo=timezone(timedelta(hours=8))),
        family="王奶奶 · 13812345678 · 三组 村口",
    )
    values.update(changes)
    return values


def test_list_json_gives_the_response_models_bytes() -> None:
    rows = [alert_values(), alert_values(id=8, family=None, evidence={}, status="resolved", outcome="safe_now",
                                         resolved_at=datetime(2026, 11, 24, tzinfo=UTC), resolved_by_staff_id=1)]
    assert list_json(AlertRead, rows) == as_the_response_model_would(AlertRead, rows)
    assert list_json(AlertRead, []) == b"[]"


def test_only_the_models_fields_in_its_order_and_none_missing() -> None:
    row = {"questionnaire_sha256": "abc", **dict(reversed(list(alert_values().items())))}  # extra key, other order
    dumped = json.loads(list_json(AlertRead, [row]))
    assert list(dumped[0]) == list(AlertRead.model_fields)
    incomplete = alert_values()
    del incomplete["family"]
    with pytest.raises(KeyError):
        list_json(AlertRead, [incomplete])


async def test_the_lists_answer_what_their_response_model_would(
    client: httpx.AsyncClient, app: FastAPI, world: World, alerts: Alerts,  # noqa: F811
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
) -> None:
    async with sessionmaker() as session, session.begin():
        grandmother = await session.get(Guardian, world.a.household["guardian_id"])
        assert grandmother is not None
        grandmother.call_name, grandmother.village = "王奶奶", "三组"
        session.add_all([
            Case(cohort_id=world.a.cohort_id, subject_key=f"child:{world.a.child_id}", child_id=world.a.child_id,
                 household_id=world.a.household["id"], status="open", opened_at=clock()),
            Case(cohort_id=world.a.cohort_id, subject_key=f"child:{world.a.child_id}", child_id=world.a.child_id,
                 household_id=world.a.household["id"], status="closed", outcome="safe_now",
                 opened_at=clock() - timedelta(days=9), closed_at=clock() - timedelta(days=2),
                 followup_due_at=clock() + timedelta(days=5)),
        ])
    for url, model in (("/api/v1/alerts?status=open&status=acknowledged&status=resolved", AlertRead),
                       (f"/api/v1/cases?cohort_id={world.a.cohort_id}", CaseRead),
                       ("/api/v1/audit?limit=3", AuditEntryRead)):
        response = await client.get(url, headers=ADMIN)
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/json"
        listed = response.json()
        assert len(listed) >= 2, url
        assert all(list(item) == list(model.model_fields) for item in listed)
        assert response.content == as_the_response_model_would(model, listed), url
    # The alerts' family labels and the rules' reasons are filled in as before.
    alerts_listed = (await client.get(f"/api/v1/alerts?cohort_id={world.a.cohort_id}", headers=ADMIN)).json()
    assert [a["family"] for a in alerts_listed] == ["王奶奶 · 三组"] * len(alerts_listed)
    assert sum(1 for a in alerts_listed if a["rule_reason"]) == len(alerts_listed) - 1  # all but the lexicon's
    # The audit's paging headers are still sent.
    page = await client.get("/api/v1/audit?limit=1", headers=ADMIN)
    assert int(page.headers["X-Total-Count"]) > 1 and 'rel="next"' in page.headers["Link"]

    # Every read is still audited: each listed alert and case by id.
    async with sessionmaker() as session:
        audited = {(row.entity, int(i)) for row in (await session.execute(
            select(AuditLog.entity, AuditLog.detail).where(AuditLog.action == "read"))).all()
            for i in (row.detail or {}).get("ids", [])}
    assert {("alert", a["id"]) for a in alerts_listed} <= audited
    cases_listed = (await client.get(f"/api/v1/cases?cohort_id={world.a.cohort_id}", headers=ADMIN)).json()
    async with sessionmaker() as session:
        audited = {(row.entity, int(i)) for row in (await session.execute(
            select(AuditLog.entity, AuditLog.detail).where(AuditLog.action == "read"))).all()
            for i in (row.detail or {}).get("ids", [])}
    assert {("case", c["id"]) for c in cases_listed} <= audited

    # OpenAPI still documents each list as an array of its model.
    spec = app.openapi()
    for path, name in (("/api/v1/alerts", "AlertRead"), ("/api/v1/cases", "CaseRead"),
                       ("/api/v1/audit", "AuditEntryRead")):
        schema = spec["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
        assert schema["type"] == "array" and schema["items"]["$ref"].endswith(f"/{name}"), path
