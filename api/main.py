"""The HTTP API's factory: production (`shouwang api`, `shouwang run`) and tests build it the same way."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.audit_writer import AuditWriter
from api.deps import REPORT_SLOTS, AuthCache
from api.docs import install as install_docs
from api.errors import ERROR_RESPONSES, install_error_handlers
from api.guard import RequestGuard, SharedAuthThrottle
from api.routers import health, v1_router
from core.clock import Clock, system_clock
from core.config import Settings
from core.db import API_POOL, HEALTH_POOL, make_engine, make_sessionmaker, read_only_sessionmaker
from core.health import BotStatus
from core.report_cache import ReportCache
from core.staff import service as staff_service


def create_app(
    *,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    clock: Clock = system_clock,
    bot_status: BotStatus | None = None,
    health_sessionmaker: async_sessionmaker[AsyncSession] | None = None,
) -> FastAPI:
    """Without a sessionmaker the lifespan owns the engines built from settings.database_url:
    the API's pool and /healthz's own (core.db.API_POOL, HEALTH_POOL). GET requests use a
    read-only session over the same engine; /healthz uses `health_sessionmaker` when given (the
    CLI passes one on a pool of its own), else the API's.

    Nothing else depends on the lifespan having run (httpx's ASGITransport does not run it).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if sessionmaker is not None:
            yield
            return
        engine = make_engine(settings.database_url, role=API_POOL)
        health_engine = make_engine(settings.database_url, role=HEALTH_POOL)
        _use(app, make_sessionmaker(engine), make_sessionmaker(health_engine))
        try:
            yield
        finally:
            app.state.sessionmaker = app.state.read_sessionmaker = app.state.health_sessionmaker = None
            await engine.dispose()
            await health_engine.dispose()

    app = FastAPI(
        title="Shouwang API",
        summary="守望 — cohorts, staff, households, lessons and campaigns of the Shouwang programme",
        version="1",
        lifespan=lifespan,
        description=API_DESCRIPTION,
        docs_url=None,  # served below with local assets: no CDN (a blank page offline or in China)
        redoc_url=None,
    )
    app.state.settings = settings
    _use(app, sessionmaker, health_sessionmaker)
    app.state.clock = clock
    app.state.report_cache = ReportCache(fresh_seconds=settings.report_cache_seconds)
    app.state.auth_cache = AuthCache(settings.auth_cache_seconds)
    app.state.audit_writer = AuditWriter(lambda: app.state.sessionmaker, lambda: app.state.write_lock)
    # Failed sign-ins are counted in the database on PostgreSQL, so several API processes share
    # the count (in memory on SQLite, which runs one).
    app.state.auth_throttle = SharedAuthThrottle(limit=settings.auth_failures_max,
                                                 window_seconds=settings.auth_failures_window_seconds,
                                                 sessionmaker=lambda: app.state.sessionmaker)

    async def authenticate(token: str) -> int | None:
        # Only reads: a read-only session, which on SQLite takes no write lock (a POST's check
        # of its token does not queue behind the tick's writes before its own transaction).
        maker = app.state.read_sessionmaker
        if maker is None:
            return 0  # no database yet: the route itself answers 503
        async with maker() as session:
            staff = await staff_service.authenticate(session, token=token)
            return None if staff is None else staff.id

    app.add_middleware(
        RequestGuard, max_body_bytes=settings.max_body_bytes, throttle=app.state.auth_throttle,
        # A guardian's voice message on the mobile pages (web/mobile/inbox.py): twice what the page
        # keeps, so a recording a little too long gets the page's own answer, not a bare 413.
        body_limits={VOICE_UPLOAD_PATH: max(settings.max_body_bytes, 2 * settings.web_voice_max_bytes + 65536)},
        authenticate=authenticate, admin_token=settings.admin_token, clock=clock,
    )
    app.state.bot_status = bot_status  # None: no bot in this process (/healthz leaves it out)
    install_error_handlers(app)
    install_docs(app)
    app.include_router(health.router, responses=ERROR_RESPONSES["public"])
    # Every operation documents the error answers it can give, each in the one error shape.
    app.include_router(v1_router, prefix="/api/v1", responses=ERROR_RESPONSES["api"])
    return app


VOICE_UPLOAD_PATH = "/m/write/voice"

API_DESCRIPTION = """
The programme's data for staff and tools: cohorts (a village or school group), staff, invitations,
households, lessons and questionnaires, alerts and cases (一人一案), the inbox, and reports.

**Sign in**: every call under `/api/v1` carries a staff member's API token as
`Authorization: Bearer <token>` (press *Authorize* above). Directors and supervisors see only their
own cohorts — anything else answers 404 — and admins see everything. Every read or change of
personal data is written to the audit log.

**Errors** always have one shape: `{"error": {"code": "…", "message": "…", "field": "…"}}`.

The same data is shown to people in the staff console at `/console/`.
"""


def _use(app: FastAPI, sessionmaker: async_sessionmaker[AsyncSession] | None,
         health_sessionmaker: async_sessionmaker[AsyncSession] | None) -> None:
    app.state.sessionmaker = sessionmaker
    app.state.read_sessionmaker = read_only_sessionmaker(sessionmaker.kw["bind"]) if sessionmaker else None
    # SQLite: this process's writers queue here in order (api.deps.get_session).
    sqlite = sessionmaker is not None and sessionmaker.kw["bind"].dialect.name == "sqlite"
    app.state.write_lock = asyncio.Lock() if sqlite else None
    app.state.report_slots = asyncio.Semaphore(REPORT_SLOTS)
    health = health_sessionmaker or sessionmaker
    # /healthz only reads: on SQLite it must not queue for the write lock behind a long writer.
    app.state.health_sessionmaker = read_only_sessionmaker(health.kw["bind"]) if health else None
