"""Request-scoped dependencies: the settings, the clock's `now`, the database session (which owns
the transaction), the authenticated staff member and their scope."""
from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, TypeVar

from fastapi import Depends, Path, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.audit_writer import audit_rows_only
from api.errors import Unauthorized, Unavailable
from core.access import Scope, scope_for
from core.config import Settings
from core.db import is_busy
from core.content.lessons import ID_PATTERN
from core.models import Staff
from core.security import hash_secret, same_secret
from core.staff import service as staff_service

log = logging.getLogger(__name__)
T = TypeVar("T")

# Row ids are 32-bit INTEGER columns on PostgreSQL: anything larger is bad input (422), not a
# database error.
MAX_ID = 2_147_483_647


def get_settings(request: Request) -> Settings:
    return request.app.state.settings


def get_now(request: Request) -> datetime:
    # Read once per request: every service call in one request sees the same instant.
    return request.app.state.clock()


class DatabaseBusy(Unavailable):
    """A statement ran over the API's statement timeout, or no pooled connection was free in
    time (core.db.is_busy): 503, and the connection is already back in the pool."""

    code = "database_busy"


# Methods that only read: their session begins DEFERRED on SQLite (core.db.read_only_sessionmaker).
READ_METHODS = frozenset({"GET", "HEAD"})


def _writes(session: AsyncSession) -> bool:
    return bool(session.new or session.dirty or session.deleted)


def get_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    sessionmaker = request.app.state.sessionmaker
    if sessionmaker is None:
        raise Unavailable("the database is not configured yet")
    return sessionmaker


def get_read_sessionmaker(request: Request) -> async_sessionmaker[AsyncSession]:
    get_sessionmaker(request)
    return request.app.state.read_sessionmaker


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction per request: committed when the route succeeds, rolled back otherwise.

    Used with scope="function", so the commit happens before the response is sent: a client
    never sees a 2xx for a change that then failed to commit. GET and HEAD get a read-only
    session (on SQLite: no write lock while reading; their audit rows are written at the end).
    A database too busy to answer in time is a 503 JSON, not a 500.
    """
    read = request.method in READ_METHODS
    maker = get_read_sessionmaker(request) if read else get_sessionmaker(request)
    # SQLite has one writer at a time. Writers of this process queue on an asyncio lock, in order,
    # instead of on SQLite's busy handler, which sleeps in growing steps and lets late comers
    # overtake (seconds of p99 at 16 clients). A write request holds it throughout; a read only
    # for its closing write (the audit row). Other processes still wait on the busy timeout.
    lock = request.app.state.write_lock
    async with maker() as session:
        try:
            async with (lock if lock is not None and not read else contextlib.nullcontext()):
                try:
                    yield session
                except BaseException:
                    await session.rollback()
                    raise
                rows = audit_rows_only(session) if read else None
                if rows is not None:
                    # A read whose only write is its audit rows: end the read, then hand the rows
                    # to the app's AuditWriter and wait until they are committed (group commit).
                    await session.commit()
                    await request.app.state.audit_writer.write(rows)
                else:
                    writes = _writes(session)
                    async with (lock if lock is not None and read and writes else contextlib.nullcontext()):
                        await session.commit()
                if not read:
                    # Whatever it changed (a deactivation, a role, a cohort, a token), nobody's
                    # remembered scope outlives it in this process (AuthCache).
                    request.app.state.auth_cache.clear()
                elif (pending := getattr(request.state, "principal_to_cache", None)) is not None:
                    # Remembered only once this request's transaction committed: a principal read
                    # in a request that failed may stand on rows that were rolled back (the
                    # bootstrap admin created on first use, say).
                    request.app.state.auth_cache.put(*pending)
        except Exception as exc:
            if is_busy(exc):
                log.warning("database busy: %s on %s %s", type(exc).__name__, request.method,
                            request.scope.get("route").path if request.scope.get("route") else "?")
                raise DatabaseBusy("the database is busy; try again in a moment") from None
            raise


SettingsDep = Annotated[Settings, Depends(get_settings)]
Now = Annotated[datetime, Depends(get_now)]
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]

_bearer = HTTPBearer(auto_error=False, description="A staff API token, or SHOUWANG_ADMIN_TOKEN")


async def get_current_staff(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Staff:
    if credentials is None or not credentials.credentials:
        raise Unauthorized("send an API token: Authorization: Bearer <token>")
    token = credentials.credentials
    staff = await staff_service.authenticate(session, token=token)
    # The bootstrap admin needs no setup: the first request with SHOUWANG_ADMIN_TOKEN creates
    # (or re-keys) its staff row, so the audit log always names a real staff member. The CLI
    # also re-keys it at start-up, which is how a token generated under var/ gets in.
    if staff is None and settings.admin_token and same_secret(token, settings.admin_token):
        staff = await staff_service.ensure_bootstrap_admin(session, token=token, now=now)
    if staff is None:
        raise Unauthorized("the API token is unknown or its staff member is deactivated")
    # For the access log and the audit of denied attempts (api.guard, api.errors).
    request.state.staff_id = staff.id
    request.state.staff_role = staff.role
    return staff


CurrentStaff = Annotated[Staff, Depends(get_current_staff)]


@dataclass(frozen=True)
class Principal:
    """Who a token belongs to, as the read paths need it: no ORM object, so it can be kept."""

    scope: Scope
    locale: str


class AuthCache:
    """token → Principal for `seconds` (settings.auth_cache_seconds), per API process.

    Resolving a token costs two queries and an ORM object per request; the busiest lists need
    only the scope and the reader's language. An entry is used for at most `seconds` after it
    was read from the database, so a deactivation (or a role, cohort or token change) made by
    another process takes effect within that time; `clear()` — called after every committed
    write through this process's API — makes one made here take effect at once. Keyed by the
    token's SHA-256, never the token. `timer` is monotonic time (tests move their own)."""

    def __init__(self, seconds: float, *, timer: Callable[[], float] = time.monotonic,
                 max_entries: int = 10_000) -> None:
        self.seconds = seconds
        self.timer = timer
        self.max_entries = max_entries
        self._entries: dict[str, tuple[float, Principal]] = {}

    def get(self, key: str) -> Principal | None:
        found = self._entries.get(key)
        if found is None:
            return None
        if self.timer() >= found[0]:
            del self._entries[key]
            return None
        return found[1]

    def put(self, key: str, principal: Principal) -> None:
        if self.seconds <= 0:
            return
        if len(self._entries) >= self.max_entries:
            self._entries.clear()
        self._entries[key] = (self.timer() + self.seconds, principal)

    def clear(self) -> None:
        self._entries.clear()


async def get_principal(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    now: Now,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> Principal:
    """The caller's scope and language: from the process's AuthCache when it was read within
    the last second, else as get_current_staff and core.access.scope_for read it."""
    if credentials is None or not credentials.credentials:
        raise Unauthorized("send an API token: Authorization: Bearer <token>")
    cache: AuthCache = request.app.state.auth_cache
    key = hash_secret(credentials.credentials)
    principal = cache.get(key)
    if principal is None:
        staff = await get_current_staff(request, session, settings, now, credentials)
        principal = Principal(scope=await scope_for(session, staff), locale=staff.locale)
        request.state.principal_to_cache = (key, principal)  # by get_session, after its commit
    request.state.staff_id = principal.scope.staff_id
    request.state.staff_role = principal.scope.role
    return principal


PrincipalDep = Annotated[Principal, Depends(get_principal)]


async def get_scope(principal: PrincipalDep) -> Scope:
    return principal.scope


ScopeDep = Annotated[Scope, Depends(get_scope)]


async def get_locale(principal: PrincipalDep) -> str:
    return principal.locale


# The reader's language, for routes that need nothing else of the staff row.
ReaderLocale = Annotated[str, Depends(get_locale)]

# A path id: positive and within the column's range.
IdPath = Annotated[int, Path(ge=1, le=MAX_ID)]
# A lesson or programme id, as content files spell them.
ContentIdPath = Annotated[str, Path(pattern=ID_PATTERN, max_length=64)]


# Aggregate reports (the funnel, delivery statistics) count tens of thousands of rows each. At
# most REPORT_SLOTS of them run at once in a process; the others wait up to REPORT_WAIT seconds,
# then get a 503. Sixteen clients on a report then cost the database two queries' worth of CPU
# at a time, and lists, /healthz and the tick keep theirs.
REPORT_SLOTS = 2
REPORT_WAIT = 10.0


async def report_slot(request: Request) -> AsyncIterator[None]:
    slots: asyncio.Semaphore = request.app.state.report_slots
    try:
        await asyncio.wait_for(slots.acquire(), REPORT_WAIT)
    except TimeoutError:
        log.warning("report slots busy on %s", request.url.path)
        raise DatabaseBusy("too many reports are being prepared; try again in a moment") from None
    try:
        yield
    finally:
        slots.release()


# Declare it before the session in a report route, so that a waiting report holds no connection.
ReportSlot = Annotated[None, Depends(report_slot)]


async def cached_report(request: Request, key: tuple[object, ...], now: datetime,
                        compute: Callable[[], Awaitable[T]]) -> T:
    """A report from the process's short-lived cache (core.report_cache), computed in one of the
    report slots when it is missing or old: a cached answer waits for no slot. The caller has
    checked access first; `key` names the report, the cohort and the period as asked."""

    async def in_a_slot() -> T:
        async with contextlib.asynccontextmanager(report_slot)(request):
            return await compute()

    return await request.app.state.report_cache.get(key, now, in_a_slot)
