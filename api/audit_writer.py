"""The audit rows of read requests, written together (issue #16).

Every GET of personal data leaves an audit row (core.audit.record). Written one transaction per
request, sixteen concurrent readers queue sixteen write transactions — on SQLite behind one
write lock, each a BEGIN IMMEDIATE, an ORM flush and a COMMIT. Here the rows of all the reads
that finish while one transaction is being written go into the next one: a single multi-row
INSERT, no ORM objects (group commit).

Nothing is lost or acknowledged early: a request waits until the transaction holding its rows
has committed, before its response is sent, and a failed write fails every request in it (a 503
or a 500, never a 200 without its audit row). A request whose client went away still has its
rows written (the wait is shielded from cancellation).
"""
from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from sqlalchemy import insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.models import AuditLog

Rows = list[dict[str, Any]]
_FIELDS = ("at", "staff_id", "action", "entity", "entity_id", "cohort_id", "detail")


def audit_rows_only(session: AsyncSession) -> Rows | None:
    """The values of the audit rows a session added, if they are all it would write (nothing
    else new, changed or deleted); None otherwise. Taken out of the session, in order."""
    if session.dirty or session.deleted:
        return None
    new = list(session.new)
    if not new or not all(type(obj) is AuditLog for obj in new):
        return None
    rows = [{name: getattr(obj, name) for name in _FIELDS} for obj in new]
    for obj in new:
        session.expunge(obj)
    return rows


class AuditWriter:
    """One writer per app. `sessionmaker` is read at each write (the app's may be set later);
    `lock` is the app's SQLite write lock (api.deps.get_session), None on PostgreSQL."""

    def __init__(self, sessionmaker: Callable[[], async_sessionmaker[AsyncSession] | None],
                 lock: Callable[[], asyncio.Lock | None]) -> None:
        self._sessionmaker = sessionmaker
        self._lock = lock
        self._pending: list[tuple[Rows, asyncio.Future[None]]] = []
        self._task: asyncio.Task[None] | None = None
        self.transactions = 0  # how many were written (tests and the profile harness read it)

    async def write(self, rows: Rows) -> None:
        """Returns once `rows` are committed; raises what the transaction raised."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        if self._task is not None and self._task.get_loop() is not loop:
            self._task, self._pending = None, []  # an app served again by a new event loop (tests)
        self._pending.append((rows, future))
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._drain())
        await asyncio.shield(future)

    async def _drain(self) -> None:
        while self._pending:
            batch, self._pending = self._pending, []
            try:
                await self._commit([row for rows, _ in batch for row in rows])
            except BaseException as exc:
                for _, future in batch:
                    if not future.done():
                        future.set_exception(exc)
                if not isinstance(exc, Exception):
                    raise
            else:
                for _, future in batch:
                    if not future.done():
                        future.set_result(None)

    async def _commit(self, rows: Rows) -> None:
        maker = self._sessionmaker()
        if maker is None:
            raise RuntimeError("the database is not configured")
        lock = self._lock()
        async with lock if lock is not None else contextlib.nullcontext():
            async with maker() as session, session.begin():
                await session.execute(insert(AuditLog), rows)
        self.transactions += 1
