"""The HTTP API's factory: production (`shouwang api`, `shouwang run`) and tests build it the same way."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.errors import install_error_handlers
from api.routers import health, v1_router
from api.schemas import ErrorBody
from core.clock import Clock, system_clock
from core.config import Settings
from core.db import make_engine, make_sessionmaker
from core.health import BotStatus


def create_app(
    *,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession] | None = None,
    clock: Clock = system_clock,
    bot_status: BotStatus | None = None,
) -> FastAPI:
    """Without a sessionmaker the lifespan owns an engine built from settings.database_url.

    Nothing else depends on the lifespan having run (httpx's ASGITransport does not run it).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if sessionmaker is not None:
            yield
            return
        engine = make_engine(settings.database_url)
        app.state.sessionmaker = make_sessionmaker(engine)
        try:
            yield
        finally:
            app.state.sessionmaker = None
            await engine.dispose()

    app = FastAPI(
        title="Shouwang API",
        summary="守望 — cohorts, staff, households, lessons and campaigns of the Shouwang programme",
        version="1",
        lifespan=lifespan,
        docs_url="/docs",
        redoc_url=None,
        responses={401: {"model": ErrorBody}, 422: {"model": ErrorBody}},
    )
    app.state.settings = settings
    app.state.sessionmaker = sessionmaker
    app.state.clock = clock
    app.state.bot_status = bot_status  # None: no bot in this process (/healthz leaves it out)
    install_error_handlers(app)
    app.include_router(health.router)
    app.include_router(v1_router, prefix="/api/v1")
    return app
