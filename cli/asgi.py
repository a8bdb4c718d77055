"""The API as an import string, for uvicorn's worker processes: `shouwang api --workers N` runs
`uvicorn cli.asgi:build_app --factory --workers N`, and each worker process calls build_app()
to build its own app from the environment (SHOUWANG_* settings), with engines of its own.

PostgreSQL only when N > 1: SQLite has one writer, and the API's write queue
(api.deps.get_session) is per process, so on SQLite the API stays one process.
"""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI

from core.clock import system_clock
from core.config import Settings
from core.db import API_POOL, HEALTH_POOL, make_engine, make_sessionmaker, split_pool


def api_pools(settings: Settings) -> tuple[Any, Any]:
    """This process's share of the API's connections, and its /healthz pool: N workers open at
    most `api_db_connections` API connections together (plus two each for /healthz)."""
    return (split_pool(API_POOL, settings.api_workers, total=settings.api_db_connections),
            split_pool(HEALTH_POOL, settings.api_workers))


def build_app(settings: Settings | None = None) -> FastAPI:
    """One worker's app: the JSON API, /healthz, the SMS receipts and the web pages, on this process's own pools.
    The engines are disposed when the worker shuts down (the app's lifespan)."""
    from api.main import create_app
    from channels.sms.wiring import build_sms
    from cli.bootstrap import stored_admin_token
    from web.app import mount as mount_web

    settings = settings or Settings()
    if settings.admin_token is None:
        # The parent (`shouwang api`) resolved it before starting the workers: the generated one
        # is under var/. The guard's shortcut for it needs it here too.
        settings.admin_token = stored_admin_token(settings)
    api_role, health_role = api_pools(settings)
    engines = [make_engine(settings.database_url, role=api_role),
               make_engine(settings.database_url, role=health_role)]
    sessionmaker, health = (make_sessionmaker(engine) for engine in engines)
    app = create_app(settings=settings, sessionmaker=sessionmaker, clock=system_clock, health_sessionmaker=health)
    # As in `shouwang run` (cli.roles): the SMS channel and its receipt route when configured,
    # then the guardians' pages and the console.
    sms = build_sms(settings, sessionmaker, app)
    mount_web(app, settings=settings, sessionmaker=sessionmaker, clock=system_clock, sms=sms)

    inner = app.router.lifespan_context

    @asynccontextmanager
    async def lifespan(application: FastAPI) -> AsyncIterator[None]:
        try:
            async with inner(application):
                yield
        finally:
            for engine in engines:
                await engine.dispose()

    app.router.lifespan_context = lifespan
    return app
