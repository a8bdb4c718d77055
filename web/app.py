"""The browser adapter's factory: two sub-applications, the guardians' mobile pages and the staff
console, each with its own HTML error pages. cli mounts them into the API's app (`mount`), so one
process and one port serve the JSON API, /m/ and /console/."""
from __future__ import annotations

import logging

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp

from core.clock import Clock, system_clock
from core.config import Settings
from core.errors import DomainError
from core.sms.port import NoticeSender
from web.rendering import STATIC, Pages

log = logging.getLogger(__name__)

MOBILE_PREFIX = "/m"
CONSOLE_PREFIX = "/console"


def _sub_app(*, name: str, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
             clock: Clock, pages: Pages) -> FastAPI:
    app = FastAPI(title=f"Shouwang {name}", docs_url=None, redoc_url=None, openapi_url=None)
    app.state.settings = settings
    app.state.sessionmaker = sessionmaker
    app.state.clock = clock
    app.state.pages = pages
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException):  # noqa: ANN202
        return pages.render(request, "error.html", status_code=exc.status_code, status=exc.status_code,
                            detail=None)

    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError):  # noqa: ANN202
        # The domain's message is English for developers; the page says it plainly in the
        # reader's language by its code, and shows the message only where no wording exists.
        return pages.render(request, "error.html", status_code=exc.status, status=exc.status, detail=exc.code)

    @app.exception_handler(Exception)
    async def crash(request: Request, exc: Exception):  # noqa: ANN202
        log.exception("web page failed: %s %s", request.method, request.url.path)
        return pages.render(request, "error.html", status_code=500, status=500, detail=None)

    return app


def build(*, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
          clock: Clock = system_clock, sms: NoticeSender | None = None) -> dict[str, FastAPI]:
    """{prefix: app} for the mobile pages and the console. `sms` sends sign-in codes (the SMS
    channel, wired by cli); without it the mobile sign-in says codes cannot be sent now."""
    from web.console import setup as setup_console
    from web.console.routes import router as console_router
    from web.mobile.routes import router as mobile_router

    pages = Pages(settings.locales_dir)
    mobile = _sub_app(name="mobile", settings=settings, sessionmaker=sessionmaker, clock=clock, pages=pages)
    mobile.state.sms = sms
    mobile.include_router(mobile_router)
    console = _sub_app(name="console", settings=settings, sessionmaker=sessionmaker, clock=clock, pages=pages)
    console.include_router(console_router)
    setup_console(console)
    return {MOBILE_PREFIX: mobile, CONSOLE_PREFIX: console}


def mount(app: FastAPI | ASGIApp, *, settings: Settings, sessionmaker: async_sessionmaker[AsyncSession],
          clock: Clock = system_clock, sms: NoticeSender | None = None) -> None:
    for prefix, sub in build(settings=settings, sessionmaker=sessionmaker, clock=clock, sms=sms).items():
        app.mount(prefix, sub)  # type: ignore[union-attr]
