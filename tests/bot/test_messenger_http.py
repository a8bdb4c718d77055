"""The production messenger over real HTTP (the production bot's aiohttp session against the
local Bot API double): the outbox sender's bulk sends take the lean JSON path (bot.messenger.
send_text) and every answer maps to the same outcome as through aiogram's own call
(tests/bot/test_messenger.py holds that table for the mocked session)."""
from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from aiogram import Bot

from bot.factory import build_bot
from bot.i18n import build_i18n
from bot.messenger import TelegramMessenger
from core.config import Settings
from core.ports import Outgoing, SendOutcome
from tests.doubles.bot_api import BotAPIDouble

CHAT = 4242


@pytest.fixture
async def double() -> AsyncIterator[BotAPIDouble]:
    double = BotAPIDouble(per_chat=0.0)
    double.record_calls = True
    double.base = await double.start()  # type: ignore[attr-defined]
    yield double
    await double.stop()
    await asyncio.sleep(0)


@pytest.fixture
async def bot(double: BotAPIDouble, tmp_path: Path) -> AsyncIterator[Bot]:
    bot = build_bot(Settings(_env_file=None, var_dir=tmp_path, telegram_token="1:T",
                             telegram_api_base=double.base))  # type: ignore[attr-defined]
    yield bot
    await bot.session.close()


@pytest.fixture
def messenger(bot: Bot, compiled_locales: Path, tmp_path: Path) -> TelegramMessenger:
    settings = Settings(_env_file=None, locales_dir=compiled_locales, var_dir=tmp_path / "var")
    return TelegramMessenger(bot, build_i18n(settings), media_root=tmp_path / "media")


def lesson(*, paid: bool = False, locale: str = "zh-Hans") -> Outgoing:
    body = {"lesson_id": "l", "version": 1, "title": "陪孩子玩 <一起>", "body": "每天十分钟。",
            "try_today": "问问孩子。", "media": {}}
    return Outgoing(delivery_id=31, address=f"telegram:{CHAT}", kind="lesson", locale=locale, content=body,
                    lane=2, paid_broadcast=paid)


@pytest.mark.parametrize("paid", [True, False])
async def test_a_lesson_goes_as_json_with_html_buttons_and_the_paid_flag(messenger, double, paid):
    outcome = await messenger.deliver(lesson(paid=paid))
    assert outcome == SendOutcome(status="sent", message_id=str(double.message_id))
    assert double.stats.json_requests == 1 and double.stats.paid == int(paid)
    [(method, params)] = double.calls
    assert method == "sendmessage" and params["chat_id"] == str(CHAT) and params["parse_mode"] == "HTML"
    assert params["text"] == "<b>陪孩子玩 &lt;一起&gt;</b>\n\n每天十分钟。\n\n💡 <b>今天试试：</b> 问问孩子。"
    assert params.get("allow_paid_broadcast") == ("true" if paid else None)
    buttons = [b for row in json.loads(params["reply_markup"])["inline_keyboard"] for b in row]
    assert [b["text"] for b in buttons] == ["👍 有帮助", "👎 不适合我"]
    assert all(set(b) == {"text", "callback_data"} for b in buttons)  # no nulls sent


async def test_a_followup_and_a_campaign_take_the_same_path(messenger, double):
    followup = Outgoing(delivery_id=7, address=f"telegram:{CHAT}", kind="lesson_followup", locale="en",
                        content={"title": "Play"}, lane=2, paid_broadcast=True)
    campaign = Outgoing(delivery_id=8, address=f"telegram:{CHAT + 1}", kind="campaign", locale="en",
                        content={"texts": {"en": "Meeting on *Friday*"}}, lane=2)
    assert (await messenger.deliver(followup)).status == "sent"
    assert (await messenger.deliver(campaign)).status == "sent"
    assert double.stats.json_requests == 2 and double.stats.paid == 1
    assert [m for m, _ in double.calls] == ["sendmessage", "sendmessage"]


async def test_the_doubles_own_limit_answers_429_with_retry_after(messenger, double):
    double.free = type(double.free)(1)  # one unflagged send a second: the second is refused
    assert (await messenger.deliver(lesson())).status == "sent"
    outcome = await messenger.deliver(lesson())
    assert double.stats.rejected == {"free": 1}
    assert outcome.status == "rate_limited" and outcome.retry_after is not None and outcome.retry_after >= 1


@pytest.mark.parametrize(
    ("status_code", "description", "retry_after", "expected"),
    [
        (429, "Too Many Requests: retry after 7", 7, SendOutcome(status="rate_limited", retry_after=7.0,
                                                                error="rate_limited")),
        (403, "Forbidden: bot was blocked by the user", None, SendOutcome(status="blocked", error="forbidden")),
        (400, "Bad Request: chat not found", None, SendOutcome(status="blocked", error="chat_not_found")),
        (400, "Bad Request: message is too long", None,
         SendOutcome(status="permanent", error="bad_request: Bad Request: message is too long")),
        (500, "Internal Server Error", None,
         SendOutcome(status="transient", error="server_error: Internal Server Error")),
        (502, "Bad Gateway", None, SendOutcome(status="transient", error="server_error: Bad Gateway")),
        (401, "Unauthorized", None, SendOutcome(status="permanent", error="api_error: Unauthorized")),
    ],
)
async def test_telegrams_errors_over_http_map_as_through_aiogram(messenger, double, status_code, description,
                                                                  retry_after, expected):
    double.fail_next(status_code, description, retry_after=retry_after)
    assert await messenger.deliver(lesson(paid=True)) == expected
    assert double.stats.json_requests == 1


async def test_a_timeout_is_transient(messenger, bot, double):
    bot.session.timeout = 0.2
    double.fail_next(500, "late", delay=2.0)
    assert await messenger.deliver(lesson()) == SendOutcome(status="transient", error="network_error")


async def test_a_server_that_is_gone_is_transient(messenger, double):
    await double.stop()
    assert await messenger.deliver(lesson()) == SendOutcome(status="transient", error="network_error")


async def test_outside_the_sender_a_reply_goes_through_aiogram(bot, double):
    """Handlers' replies keep aiogram's call and its request middleware (ReplyRetry)."""
    from bot.messenger import send_text

    message = await send_text(bot, CHAT, "hello")
    assert message.message_id == double.message_id and double.stats.json_requests == 0
