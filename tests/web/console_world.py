"""A small world for console tests, built through the API like tests/api (two cohorts, each
with a director, a supervisor, a household and a red alert raised by a weekly check-in; an
admin), and staff signed in to the console over HTTP with their link codes."""
from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.flows.delivery import sender_hooks
from core.clock import FrozenClock
from tests.endpoints import address_of
from tests.api.checkin_data import link_telegram, load_shipped_questionnaires, weekly_alerts
from tests.api.helpers import World, add_household, create_cohort, create_staff
from tests.api.helpers import Side

CSRF = re.compile(r'name="csrf" value="([^"]+)"')


@dataclass
class ConsoleWorld:
    world: World
    admin: dict
    red_a: int  # cohort A's red alert
    red_b: int

    @property
    def a(self) -> Side:
        return self.world.a

    @property
    def b(self) -> Side:
        return self.world.b


def link_code(staff: dict) -> str:
    return staff["credentials"]["telegram_link_code"]


@pytest.fixture
async def console_world(web_client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession],
                        clock: FrozenClock) -> ConsoleWorld:
    sides = []
    for name in ("东岭村", "西沟村"):
        cohort = await create_cohort(web_client, name)
        director = await create_staff(web_client, "director", [cohort["id"]], f"{name}主任",
                                      primary_cohort_ids=[cohort["id"]])
        supervisor = await create_staff(web_client, "supervisor", [cohort["id"]], f"{name}督导")
        household = await add_household(sessionmaker, clock, cohort["id"])
        sides.append(Side(cohort=cohort, director=director, supervisor=supervisor, household=household))
    world = World(a=sides[0], b=sides[1])
    admin = await create_staff(web_client, "admin", [], "县管理员")
    await load_shipped_questionnaires(sessionmaker, clock)
    await link_telegram(sessionmaker, world.a.director["id"], world.b.director["id"])
    reds = []
    for side in (world.a, world.b):
        _, fired = await weekly_alerts(sessionmaker, clock, cohort_id=side.cohort_id, child_id=side.child_id,
                                       guardian_id=side.household["guardian_id"], cycle="2026-W48", safety=1)
        reds.append(fired["safety_self_harm"])
    return ConsoleWorld(world=world, admin=admin, red_a=reds[0], red_b=reds[1])


class Browser:
    """An httpx client with its own cookie jar, signed in to the console as one staff member."""

    def __init__(self, client: httpx.AsyncClient) -> None:
        self.client = client
        self.csrf: str | None = None

    async def get(self, path: str, **kw: object) -> httpx.Response:
        response = await self.client.get(path, **kw)  # type: ignore[arg-type]
        found = CSRF.search(response.text) if response.headers.get("content-type", "").startswith("text/html") \
            else None
        if found:
            self.csrf = found.group(1)
        return response

    async def post(self, path: str, data: dict[str, str] | None = None, *, csrf: bool = True) -> httpx.Response:
        body = dict(data or {})
        if csrf:
            if self.csrf is None:
                await self.get("/console/")
            body["csrf"] = self.csrf or ""
        return await self.client.post(path, data=body)

    async def signin(self, path: str = "/console/signin", data: dict[str, str] | None = None) -> httpx.Response:
        """POST a sign-in form as a browser does: open the sign-in page first (its pre-session
        cookie and the hidden login CSRF field), then send the form with that field."""
        response = await signin_post(self.client, path, data)
        self.csrf = None  # the session's own token comes with the next page
        return response


async def login_csrf(client: httpx.AsyncClient, page: str = "/console/signin") -> str:
    found = CSRF.search((await client.get(page)).text)
    assert found, "the sign-in page has no login CSRF field"
    return found.group(1)


async def signin_post(client: httpx.AsyncClient, path: str = "/console/signin",
                      data: dict[str, str] | None = None, *, page: str = "/console/signin",
                      **kw: object) -> httpx.Response:
    return await client.post(path, data={**(data or {}), "csrf": await login_csrf(client, page)},
                             **kw)  # type: ignore[arg-type]


@pytest.fixture
async def browsers(web_app: FastAPI) -> AsyncIterator[object]:
    """browsers(code) → a Browser signed in with that link code or token."""
    clients: list[httpx.AsyncClient] = []

    async def open_as(code: str | None, *, lang: str = "zh-Hans") -> Browser:
        client = httpx.AsyncClient(transport=httpx.ASGITransport(app=web_app), base_url="http://test",
                                   headers={"accept-language": "zh-CN" if lang == "zh-Hans" else "en"})
        clients.append(client)
        browser = Browser(client)
        if code is not None:
            response = await signin_post(client, data={"code": code, "next": "/"})
            assert response.status_code == 303, response.text
        return browser

    yield open_as
    for client in clients:
        await client.aclose()


async def drain_to_bot_double(sessionmaker: async_sessionmaker[AsyncSession], settings, clock: FrozenClock,  # noqa: ANN001
                              media_root, recordings_root=None) -> list[tuple[str, dict]]:  # noqa: ANN001
    """Run the production sender once with the real Telegram messenger against the local Bot API
    double (over HTTP); the Bot API calls it received, (method, parameters)."""
    import asyncio

    from bot.factory import build_bot
    from bot.i18n import build_i18n
    from bot.messenger import TelegramMessenger
    from core.delivery.ratelimit import TokenBucket
    from core.delivery.sender import Sender, SenderConfig
    from tests.doubles.bot_api import BotAPIDouble

    class NoWait:
        t = 0.0

        def monotonic(self) -> float:
            return self.t

        async def sleep(self, seconds: float) -> None:
            self.t += seconds

    double = BotAPIDouble(monotonic=lambda: clock().timestamp())  # its per-chat second is the test clock's
    double.record_calls = True
    base = await double.start()
    try:
        bot = build_bot(settings.model_copy(update={"telegram_token": "1:T", "telegram_api_base": base}))
        messenger = TelegramMessenger(bot, build_i18n(settings), media_root=media_root, recordings_root=recordings_root)
        t = NoWait()
        sender = Sender(sessionmaker, messenger, hooks=sender_hooks(), clock=clock, config=SenderConfig(rate=30, concurrency=1),
                        bucket=TokenBucket(30, monotonic=t.monotonic, sleep=t.sleep))
        for _round in range(10):  # until nothing is left; one chat gets one message a second
            stats = await sender.drain_once()
            if not stats.claimed:
                break
            clock.advance(seconds=1)
        await bot.session.close()
        return list(double.calls)
    finally:
        await double.stop()
        await asyncio.sleep(0)


async def inbox_item(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, guardian_id: int,
                     text: str) -> int:
    """A family's message that no flow understood, in the directors' inbox (as tests/api do)."""
    from core.checkin.risk import scanner_for
    from core.config import PROJECT_ROOT
    from core.inbox import service as inbox
    from core.models import Guardian

    scanner = scanner_for(PROJECT_ROOT / "content" / "risk" / "lexicon.yaml")
    async with sessionmaker() as session, session.begin():
        guardian = await session.get(Guardian, guardian_id)
        received = await inbox.receive(session, guardian=guardian, scanner=scanner, now=clock(),
                                       incoming=inbox.Incoming(kind="text", address=await address_of(session, guardian), message_id="7",
                                                               text=text))
        return received.item.id
