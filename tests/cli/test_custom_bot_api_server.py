"""SHOUWANG_TELEGRAM_API_BASE really works with long polling: the production bot and
dispatcher talk over HTTP to a fake Bot API server on 127.0.0.1 (as they would to a self-hosted
telegram-bot-api server), receive an update and answer it."""
from __future__ import annotations

import asyncio
import json
from datetime import datetime, timezone
from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import build_bot, build_dispatcher
from core.clock import FrozenClock
from core.config import Settings
from core.models import Cohort, Draft, Invitation

TOKEN = "123456:TEST-TOKEN"
CHAT = 555


class FakeBotAPI:
    def __init__(self, first_update: dict[str, Any]) -> None:
        self.pending = [first_update]
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.answered = asyncio.Event()
        self.message_id = 100

    async def handle(self, request: web.Request) -> web.Response:
        token, method = request.match_info["token"], request.match_info["method"]
        assert token == TOKEN, "the bot must send its own token"
        params = dict(await request.post())
        self.calls.append((method.lower(), params))
        return web.json_response({"ok": True, "result": await self.result(method.lower(), params)})

    async def result(self, method: str, params: dict[str, Any]) -> Any:
        if method == "getme":
            return {"id": 42, "is_bot": True, "first_name": "Shouwang", "username": "shouwang_test_bot"}
        if method == "getupdates":
            if self.pending:
                updates, self.pending = self.pending, []
                return updates
            # Long polling: hold the request a moment, as the real server does, then say "nothing new".
            try:
                await asyncio.wait_for(asyncio.shield(self.answered.wait()), timeout=0.2)
            except asyncio.TimeoutError:
                pass
            return []
        if method == "sendmessage":
            self.message_id += 1
            self.answered.set()
            return {"message_id": self.message_id, "date": 0, "chat": {"id": int(params["chat_id"]), "type": "private"},
                    "text": params.get("text", "")}
        return True


async def test_polling_through_a_custom_bot_api_server(
    settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, loaded_content: None
) -> None:
    async with sessionmaker() as session, session.begin():
        cohort = Cohort(name="东岭村", region="", timezone="Asia/Shanghai", default_locale="zh-Hans",
                        lesson_schedule={}, checkin_schedule={}, created_at=clock())
        session.add(cohort)
        await session.flush()
        session.add(Invitation(cohort_id=cohort.id, code="abcdefghjkmn", label="", uses=0, created_at=clock()))

    update = {
        "update_id": 1,
        "message": {
            "message_id": 1, "date": int(datetime.now(timezone.utc).timestamp()),
            "chat": {"id": CHAT, "type": "private"},
            "from": {"id": CHAT, "is_bot": False, "first_name": "奶奶", "language_code": "zh-hans"},
            "text": "/start abcdefghjkmn", "entities": [{"type": "bot_command", "offset": 0, "length": 6}],
        },
    }
    fake = FakeBotAPI(update)
    app = web.Application()
    app.router.add_post("/bot{token}/{method}", fake.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]

    settings.telegram_token = TOKEN
    settings.telegram_api_base = f"http://127.0.0.1:{port}"
    bot = build_bot(settings)
    dp = build_dispatcher(settings=settings, sessionmaker=sessionmaker, clock=clock)
    polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False, close_bot_session=True,
                                                   polling_timeout=1))
    try:
        await asyncio.wait_for(fake.answered.wait(), timeout=20)
    finally:
        await dp.stop_polling()
        await asyncio.wait_for(polling, timeout=20)
        await runner.cleanup()

    sent = [params for method, params in fake.calls if method == "sendmessage"]
    assert int(sent[0]["chat_id"]) == CHAT
    keyboard = json.loads(sent[0]["reply_markup"])["inline_keyboard"]
    assert [b["text"] for row in keyboard for b in row] == ["简体中文", "English"]
    async with sessionmaker() as session:
        draft = await session.scalar(select(Draft).where(Draft.address == f"telegram:{CHAT}"))
    assert draft is not None and draft.step == "language"
