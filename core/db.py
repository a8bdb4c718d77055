"""Database plumbing: the declarative Base, a UTC datetime type, and engine/session factories."""
from __future__ import annotations

import asyncio
import os
import threading
import time
from collections import deque
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, NamedTuple, cast

from sqlalchemy import CursorResult, DateTime, MetaData, Result, event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator
from sqlalchemy.util.concurrency import await_

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every engine (SQLite stores them naive, so we re-attach UTC)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column; pass an aware datetime")
        value = value.astimezone(timezone.utc)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=timezone.utc)
        return value.astimezone(timezone.utc)


def dialect_insert(session: AsyncSession, model: type) -> Any:
    """INSERT for the session's engine, so ON CONFLICT DO NOTHING works on SQLite and PostgreSQL."""
    return (postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert)(model)


def affected_rows(result: Result[Any]) -> int:
    """How many rows an UPDATE or DELETE touched. SQLAlchemy types `execute` as returning a
    Result even for DML, whose result is a CursorResult (with rowcount) at run time."""
    return cast(CursorResult[Any], result).rowcount


def private_sqlite_file(url: str) -> None:
    """The SQLite file (and so its -wal and -shm, which SQLite creates with the file's mode)
    readable by its owner only: 0600, in a directory made 0700 when we create it."""
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return
    path = Path(database)
    if not path.parent.exists():
        path.parent.mkdir(parents=True, mode=0o700)
        os.chmod(path.parent, 0o700)
    os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
    os.chmod(path, 0o600)


# ---------------------------------------------------------------- pools per role (issue #16)
#
# Each process role gets its own engine, hence its own connection pool, sized and limited for
# what it does, so that load on one can never starve another: sixteen clients on a slow report
# fill the API's pool, never the worker's (the tick sends alert cards and escalations; the
# sender delivers them) nor the one /healthz probes with. A statement timeout per role bounds
# how long any one statement may hold a connection (PostgreSQL: the server's own
# statement_timeout, which cancels the query; SQLite: a progress handler that interrupts it).
# A statement over its limit or a pool with no free connection in time raises an error that
# `is_busy` recognises; the API answers it with a 503 JSON, never a 500.


@dataclass(frozen=True)
class PoolRole:
    name: str
    pool_size: int  # connections kept open
    max_overflow: int  # extra connections under load
    pool_timeout: float  # seconds to wait for a free connection before giving up
    statement_timeout: float | None  # seconds one statement may run; None: no limit


# The API (and the bot's handlers): a report that needs more than 5 s is stopped and answered
# 503, and a request waits at most 5 s for a connection.
API_POOL = PoolRole("api", pool_size=10, max_overflow=10, pool_timeout=5.0, statement_timeout=5.0)
# The tick and the sender: few connections of their own. Their statements are short by design
# (planning is chunked: a 20,000-guardian chunk takes about a second on SQLite), but their limit
# is deliberately not shorter than the API's: a planning statement stopped by it would be retried
# and stopped again every tick on a slow, loaded machine, and lessons would never go out. The
# limit is a backstop against a stuck statement (on PostgreSQL it counts lock waits too); the
# tick runs its steps independently, so one failing never keeps escalations from running.
WORKER_POOL = PoolRole("worker", pool_size=3, max_overflow=2, pool_timeout=10.0, statement_timeout=10.0)
# /healthz: one connection of its own, so a busy API pool never reads as "database unreachable".
HEALTH_POOL = PoolRole("health", pool_size=1, max_overflow=1, pool_timeout=2.0, statement_timeout=2.0)


def split_pool(role: PoolRole, processes: int, *, total: int | None = None) -> PoolRole:
    """The role's pool for one of `processes` processes sharing one connection budget: `total`
    connections (default: what one process of the role may open) divided between them, at
    least two each. So `shouwang api --workers N` opens no more connections than one process
    did, and N workers fit the database's max_connections beside the worker and bot roles."""
    if processes <= 1 and total is None:
        return role
    budget = role.pool_size + role.max_overflow if total is None else total
    each = max(2, budget // max(1, processes))
    kept = max(1, each // 2)
    return PoolRole(role.name, pool_size=kept, max_overflow=each - kept, pool_timeout=role.pool_timeout,
                    statement_timeout=role.statement_timeout)


def make_engine(url: str, *, role: PoolRole | None = None, busy_timeout: float | None = None,
                **kwargs: Any) -> AsyncEngine:
    """An engine for `url`; with a `role`, its pool sizes and timeouts (without one: the
    driver's defaults and no statement timeout — migrations, the CLI, tests). `busy_timeout`
    (SQLite, seconds; default BUSY_TIMEOUT): how long a writer waits for the write lock."""
    timeout = role.statement_timeout if role else None
    # A failing statement's message never carries its parameters (notes, nicknames, token
    # hashes) into a log or an error response.
    kwargs.setdefault("hide_parameters", True)
    if role is not None:
        kwargs.setdefault("pool_size", role.pool_size)
        kwargs.setdefault("max_overflow", role.max_overflow)
        kwargs.setdefault("pool_timeout", role.pool_timeout)
    if url.startswith("sqlite"):
        private_sqlite_file(url)
        if ":memory:" in url or url.rstrip("/").endswith(":"):
            for key in ("pool_size", "max_overflow", "pool_timeout"):  # a single-connection pool
                kwargs.pop(key, None)
        engine = create_async_engine(url, **kwargs)
        _configure_sqlite(engine, statement_timeout=timeout,
                          busy_timeout=BUSY_TIMEOUT if busy_timeout is None else busy_timeout)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    if timeout is not None and url.startswith("postgresql+asyncpg"):
        connect_args = kwargs.setdefault("connect_args", {})
        settings = connect_args.setdefault("server_settings", {})
        settings.setdefault("statement_timeout", str(int(timeout * 1000)))
        settings.setdefault("application_name", f"shouwang-{role.name}" if role else "shouwang")
    return create_async_engine(url, **kwargs)


def is_busy(exc: BaseException) -> bool:
    """True for "the database is too busy right now", not "it is broken": a statement stopped by
    its timeout, no free pooled connection in time, or SQLite's write lock not obtained within
    the busy timeout. The caller may answer 503 and the client try again."""
    if isinstance(exc, PoolTimeout):
        return True
    if isinstance(exc, DBAPIError):
        orig = exc.orig
        if getattr(orig, "sqlstate", None) in ("57014", "55P03"):  # query_canceled, lock_not_available
            return True
        message = str(orig).lower()
        return type(orig).__name__ == "OperationalError" and (
            "interrupted" in message or "database is locked" in message
        )
    return False


# ---------------------------------------------------------------- SQLite

# Execution option that marks a read-only session's connections (see read_only_sessionmaker).
READ_ONLY = "shouwang_read_only"
# Seconds a SQLite writer waits for the write lock (SQLite's busy timeout and the write gate's).
BUSY_TIMEOUT = 15.0


class WriteGate:
    """One first-come-first-served queue for the write lock of one SQLite file, shared by every
    engine of this process on that file (the API's, the worker's, the audit writer's).

    SQLite's own wait for a lock held by another connection is a busy handler that sleeps in
    steps of up to 100 ms and retries: a writer waiting behind a run of back-to-back write
    transactions (a scheduler tick) keeps missing the gaps between them. Here a writer takes
    the gate before its BEGIN IMMEDIATE and gives it up after its COMMIT or ROLLBACK; the next
    in line is woken at once, so the lock it then asks SQLite for is free. Readers (BEGIN
    DEFERRED) never take it. Another process on the same file still waits on the busy timeout.

    Waiting gives up after the busy timeout ("database is locked", which is_busy recognises), so
    a session opened inside another's write transaction fails as it would have in SQLite rather
    than waiting forever. Thread-safe, and each waiter is woken on its own event loop.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._holder: object | None = None
        self._waiters: deque[tuple[object, asyncio.AbstractEventLoop, asyncio.Future[None]]] = deque()
        self.acquired = 0  # how many times it was taken (tests and the profile harness read it)

    @property
    def holder(self) -> object | None:
        return self._holder

    @property
    def waiting(self) -> int:
        return len(self._waiters)

    async def acquire(self, owner: object, timeout: float) -> bool:
        """Wait for the gate on behalf of `owner` (a DBAPI connection); False after `timeout`."""
        loop = asyncio.get_running_loop()
        with self._mutex:
            if self._holder is None and not self._waiters:
                self._holder = owner
                self.acquired += 1
                return True
            future: asyncio.Future[None] = loop.create_future()
            entry = (owner, loop, future)
            self._waiters.append(entry)
        try:
            await asyncio.wait_for(future, timeout)
            return True
        except BaseException as exc:
            with self._mutex:
                handed = self._holder is owner
                if not handed:
                    self._waiters.remove(entry)
            if handed:  # it was handed over just as the wait ended: pass it on
                self.release(owner)
            if isinstance(exc, TimeoutError):
                return False
            raise

    def release(self, owner: object) -> None:
        """Give the gate up if `owner` holds it, to the longest waiter (a no-op otherwise)."""
        with self._mutex:
            if self._holder is not owner:
                return
            self._holder = None
            if not self._waiters:
                return
            self._holder, loop, future = self._waiters.popleft()
            self.acquired += 1
        if loop is _running_loop():
            _wake(future)
        elif not loop.is_closed():
            loop.call_soon_threadsafe(_wake, future)


def _running_loop() -> asyncio.AbstractEventLoop | None:
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        return None


def _wake(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_result(None)


_gates: dict[str, WriteGate] = {}
_gates_mutex = threading.Lock()


def _gate_for_file(url: str) -> WriteGate | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None  # a memory database is private to its connection: nothing to queue for
    key = os.path.realpath(database)
    with _gates_mutex:
        return _gates.setdefault(key, WriteGate())


class _GateUse(NamedTuple):
    gate: WriteGate
    timeout: float  # the engine's busy timeout
    error: type[Exception]  # its DBAPI's OperationalError


_GATE = "shouwang_write_gate"  # the attribute of an engine's dialect holding its _GateUse


def write_gate(engine: AsyncEngine) -> WriteGate | None:
    """The write gate of a SQLite engine's file (None on PostgreSQL or an in-memory SQLite)."""
    use: _GateUse | None = getattr(engine.sync_engine.dialect, _GATE, None)
    return use.gate if use else None


def _configure_sqlite(engine: AsyncEngine, *, statement_timeout: float | None = None,
                      busy_timeout: float = BUSY_TIMEOUT) -> None:
    """WAL, a busy timeout, BEGIN IMMEDIATE for writers and BEGIN DEFERRED for readers.

    WAL lets readers run beside the writer. BEGIN IMMEDIATE takes the write lock when a
    transaction starts, so a transaction never fails half-way trying to upgrade a read lock
    (SQLITE_BUSY without waiting); writers queue for it at the file's WriteGate, in order,
    and then on the busy timeout (other processes). Read-only
    sessions (connections with the READ_ONLY execution option) begin DEFERRED: they take no
    write lock, so GET requests and reports never queue behind writers, nor writers behind
    them. Should a read-only session write after all (a GET's audit row), it first ends its
    read and begins IMMEDIATE (see _upgrade_before_flush).

    With a statement timeout, a progress handler interrupts any statement that runs longer
    ("interrupted", which is_busy recognises): SQLite has no statement timeout of its own, and
    cancelling the awaiting coroutine would leave the query running in the driver's thread.
    """
    busy_ms = int(busy_timeout * 1000)
    dialect = engine.sync_engine.dialect
    gate = _gate_for_file(str(engine.url))

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute(f"PRAGMA busy_timeout={busy_ms}")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()
        if statement_timeout is not None:
            deadline = record.info["deadline"] = [0.0]  # monotonic; 0 = no statement running

            def _interrupt_if_late() -> int:  # runs in the driver's thread, every 10,000 VM steps
                return 1 if deadline[0] and time.monotonic() > deadline[0] else 0

            await_(record.driver_connection.set_progress_handler(_interrupt_if_late, 10_000))

    if statement_timeout is not None:
        @event.listens_for(engine.sync_engine, "before_cursor_execute")
        def _start_clock(conn: Any, *_args: Any) -> None:
            if "deadline" in conn.info:
                conn.info["deadline"][0] = time.monotonic() + statement_timeout

        @event.listens_for(engine.sync_engine, "after_cursor_execute")
        def _stop_clock(conn: Any, *_args: Any) -> None:
            if "deadline" in conn.info:
                conn.info["deadline"][0] = 0.0

        @event.listens_for(engine.sync_engine, "handle_error")
        def _stop_clock_on_error(context: Any) -> None:
            # Never leave a past deadline armed: it would interrupt the ROLLBACK that follows.
            if context.connection is not None and "deadline" in context.connection.info:
                context.connection.info["deadline"][0] = 0.0

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Any) -> None:
        read_only = bool(conn.get_execution_options().get(READ_ONLY))
        conn.info["deferred_read"] = read_only
        if read_only:
            conn.exec_driver_sql("BEGIN DEFERRED")
        else:
            begin_immediate(conn)

    if gate is None:
        return
    setattr(dialect, _GATE, _GateUse(gate, busy_timeout, dialect.loaded_dbapi.OperationalError))
    # The gate is given up once the DBAPI COMMIT or ROLLBACK has returned (the "commit" and
    # "rollback" events run before it), whoever calls it: a Connection, or the pool resetting a
    # connection returned mid-transaction. This engine's dialect object is its own.
    do_commit, do_rollback = dialect.do_commit, dialect.do_rollback

    def _commit_then_release(connection: Any) -> None:
        try:
            do_commit(connection)
        finally:
            gate.release(_dbapi(connection))

    def _rollback_then_release(connection: Any) -> None:
        try:
            do_rollback(connection)
        finally:
            gate.release(_dbapi(connection))

    dialect.do_commit = _commit_then_release  # type: ignore[method-assign,assignment]
    dialect.do_rollback = _rollback_then_release  # type: ignore[method-assign,assignment]

    @event.listens_for(engine.sync_engine.pool, "close")
    def _release_on_close(dbapi_connection: Any, _record: Any) -> None:
        gate.release(_dbapi(dbapi_connection))

    @event.listens_for(engine.sync_engine.pool, "invalidate")
    def _release_on_invalidate(dbapi_connection: Any, _record: Any, _exc: Any) -> None:
        gate.release(_dbapi(dbapi_connection))


def _dbapi(connection: Any) -> Any:
    """The DBAPI connection under a pool's proxy (what the gate records as its holder)."""
    return getattr(connection, "dbapi_connection", connection)


def begin_immediate(conn: Any) -> None:
    """BEGIN IMMEDIATE on a SQLite Connection, first taking its file's write gate (if any).
    Runs inside SQLAlchemy's greenlet, so it may wait on the event loop."""
    use: _GateUse | None = getattr(conn.dialect, _GATE, None)
    if use is None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
        return
    gate, timeout, operational_error = use
    owner = _dbapi(conn.connection)
    if gate.holder is not owner and not await_(gate.acquire(owner, timeout)):
        # As SQLite's own busy timeout would end it (is_busy: a 503 in the API, never a 500).
        raise OperationalError("BEGIN IMMEDIATE", None,
                               operational_error("database is locked (waited for the write gate)"))
    try:
        conn.exec_driver_sql("BEGIN IMMEDIATE")
    except BaseException:
        gate.release(owner)
        raise


def _upgrade_before_flush(session: Session, _context: Any, _instances: Any) -> None:
    """A read-only session is about to write (an audit row of a GET): on SQLite, end its
    deferred read and begin IMMEDIATE, queueing for the write lock like any writer. Upgrading
    the deferred transaction in place would fail at once (SQLITE_BUSY_SNAPSHOT) whenever
    another writer committed since its read began. What was read before stays read; the writes
    commit together in the new transaction."""
    conn = session.connection()
    if conn.info.get("deferred_read"):
        conn.exec_driver_sql("COMMIT")
        begin_immediate(conn)
        conn.info["deferred_read"] = False


class ReadOnlySession(Session):
    """The session of read-only request paths (see read_only_sessionmaker)."""


event.listen(ReadOnlySession, "before_flush", _upgrade_before_flush)


def make_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


def read_only_sessionmaker(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    """Sessions for paths that only read (GET routes, reports), over the same engine and pool.

    On SQLite they begin DEFERRED (a WAL reader: it neither waits for nor blocks the writer);
    the audit rows such a path adds are written after its reads, in a short write transaction
    of their own. On PostgreSQL readers never block writers anyway: the sessions are ordinary.
    """
    # No autoflush: what such a path adds (audit rows) is written once, at commit, after its reads.
    return async_sessionmaker(engine.execution_options(**{READ_ONLY: True}), expire_on_commit=False,
                              sync_session_class=ReadOnlySession, autoflush=False)
