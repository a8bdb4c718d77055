"""Reads are audited through one group-committing writer (api.audit_writer, issue #16): every
read still leaves its row before its answer is sent, concurrent reads share a transaction, and
a failed audit write is never answered 200."""
from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.audit_writer import AuditWriter
from core.clock import FrozenClock
from core.models import AuditLog
from tests.api.helpers import World


async def _reads(sessionmaker: async_sessionmaker[AsyncSession], entity: str) -> list[AuditLog]:
    async with sessionmaker() as session:
        return list((await session.scalars(select(AuditLog).where(AuditLog.entity == entity,
                                                                  AuditLog.action == "read")
                                           .order_by(AuditLog.id))).all())


async def test_every_concurrent_read_leaves_its_row_before_it_is_answered(
    app: FastAPI, client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    before = len(await _reads(sessionmaker, "household"))
    url = f"/api/v1/cohorts/{world.a.cohort_id}/households"

    async def read() -> int:
        response = await client.get(url, headers=world.a.director_auth)
        # Answered only after the row is committed: it is there when the answer arrives.
        async with sessionmaker() as session:
            count = await session.scalar(select(func.count()).select_from(AuditLog)
                                         .where(AuditLog.entity == "household"))
        assert count is not None and count > before
        return response.status_code

    assert await asyncio.gather(*(read() for _ in range(8))) == [200] * 8
    rows = (await _reads(sessionmaker, "household"))[before:]
    assert len(rows) == 8
    assert {(r.staff_id, r.cohort_id, tuple(r.detail["ids"])) for r in rows} == {
        (world.a.director["id"], world.a.cohort_id, (world.a.household["id"],))}


async def test_rows_waiting_together_go_in_one_transaction(
    sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    writer = AuditWriter(lambda: sessionmaker, lambda: None)
    rows = [{"at": clock(), "staff_id": None, "action": "read", "entity": f"thing{n}", "entity_id": n,
             "cohort_id": None, "detail": {"n": n}} for n in range(3)]
    await asyncio.gather(*(writer.write([row]) for row in rows))
    assert writer.transactions == 1
    async with sessionmaker() as session:
        stored = (await session.scalars(select(AuditLog).where(AuditLog.entity.like("thing%"))
                                        .order_by(AuditLog.id))).all()
    assert [(r.entity, r.entity_id, r.detail) for r in stored] == [(f"thing{n}", n, {"n": n}) for n in range(3)]


async def test_a_failed_audit_write_fails_the_read(
    app: FastAPI, client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession],
) -> None:
    async def broken(_rows: Any) -> None:
        raise RuntimeError("disk full")

    app.state.audit_writer._commit = broken
    response = await client.get(f"/api/v1/cohorts/{world.a.cohort_id}/households", headers=world.a.director_auth)
    assert response.status_code == 500
    assert "Xiaoming" not in response.text
