"""Web test fixtures: the production app (API + mobile pages + console) over httpx, the same app
served by uvicorn on a free local port in the test's own event loop, and the distribution's
Chromium driven by Playwright (launched with `executable_path`: Playwright's own browser download
cannot work here). Without Chromium the browser tests are skipped — in CI (CI=true) they fail."""
from __future__ import annotations

import os
import shutil
import socket
from collections.abc import AsyncIterator

import httpx
import pytest
import uvicorn
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.main import create_app
from core.clock import FrozenClock
from core.config import Settings
from web.app import mount

IN_CI = os.environ.get("CI", "").lower() == "true"
PHONE = {"width": 360, "height": 740}


def chromium_path() -> str | None:
    for candidate in (os.environ.get("SHOUWANG_CHROMIUM"), "chromium", "chromium-browser", "google-chrome"):
        if candidate and (found := shutil.which(candidate)):
            return found
    return None


@pytest.fixture
def web_app(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> FastAPI:
    app = create_app(settings=settings, sessionmaker=sessionmaker, clock=clock)
    mount(app, settings=settings, sessionmaker=sessionmaker, clock=clock)
    return app


@pytest.fixture
async def web_client(web_app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web_app), base_url="http://test") as client:
        yield client


@pytest.fixture
async def live_server(web_app: FastAPI) -> AsyncIterator[str]:
    """The app on 127.0.0.1:<free port>, served from this test's event loop (so the frozen clock
    and the test database are shared). The socket is bound before serving starts, so the first
    request simply waits in the listen queue: nothing sleeps."""
    import asyncio

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(web_app, log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        await task
        sock.close()


@pytest.fixture
async def browser() -> AsyncIterator[object]:
    path = chromium_path()
    if path is None:
        if IN_CI:
            pytest.fail("Chromium is missing in CI (.ci/run installs the distribution's package)")
        pytest.skip("no Chromium on this machine (apt-get install -y chromium)")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=path, args=["--no-sandbox"])
        try:
            yield browser
        finally:
            await browser.close()


@pytest.fixture
async def phone(browser) -> AsyncIterator[object]:  # noqa: ANN001
    """A page in a 360×740 phone viewport, Chinese first, as a grandmother's phone would be."""
    context = await browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True)
    page = await context.new_page()
    try:
        yield page
    finally:
        await context.close()
