"""The bot connects with back-off and never raises for Telegram's sake; its status follows every
getMe and getUpdates answer; the outbox waits while it is down."""
from __future__ import annotations

from typing import Any

import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import GetMe, GetUpdates

from bot.liveness import TOKEN_REFUSED, WhileBotUp, install_watch, keep_polling
from bot.messenger import CAPABILITIES as TELEGRAM
from core.health import BotStatus
from core.ports import Outgoing, SendOutcome
from mocked_bot import MockedBot


class Sleeper:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


class StubDispatcher:
    def __init__(self, failures: int = 0) -> None:
        self.polled = 0
        self.failures = failures

    async def start_polling(self, *bots: Any, **kwargs: Any) -> None:
        self.polled += 1
        if self.failures:
            self.failures -= 1
            raise TelegramNetworkError(GetMe(), "Cannot connect to host")  # as aiogram's bot.me() inside it


async def test_connects_with_back_off_then_polls() -> None:
    bot, status, sleeper, dp = MockedBot(), BotStatus(), Sleeper(), StubDispatcher()
    install_watch(bot, status, api_base="http://bot-api.test", token=bot.token)
    connected: list[str | None] = []
    bot.session.raise_next(TelegramNetworkError(GetMe(), "Cannot connect to host"))
    bot.session.raise_next(TelegramNetworkError(GetMe(), "Cannot connect to host"))
    bot.session.fail_next(401, "Unauthorized")
    bot.session.raise_next(TelegramNetworkError(GetMe(), "Cannot connect to host"))

    async def on_connected(me: Any) -> None:
        connected.append(me.username)

    await keep_polling(bot, dp, status=status, min_delay=1, max_delay=60,  # type: ignore[arg-type]
                       on_connected=on_connected, sleep=sleeper)

    # Network errors double the wait; a refused token waits the longest; the back-off carries on after it.
    assert sleeper.waits == [1, 2, 60, 4]
    assert connected == ["shouwang_test_bot"] and dp.polled == 1
    assert status.state == "up" and status.reason is None


async def test_polling_that_fails_to_start_connects_again() -> None:
    bot, status, sleeper, dp = MockedBot(), BotStatus(), Sleeper(), StubDispatcher(failures=1)

    async def on_connected(me: Any) -> None:
        pass

    await keep_polling(bot, dp, status=status, min_delay=1, max_delay=60,  # type: ignore[arg-type]
                       on_connected=on_connected, sleep=sleeper)

    assert dp.polled == 2 and sleeper.waits == [1]  # never raised: it connected again and polled


async def test_a_refused_token_is_a_clear_reason_and_polling_failures_show(caplog: pytest.LogCaptureFixture) -> None:
    bot, status = MockedBot(), BotStatus()
    install_watch(bot, status, api_base="http://bot-api.test", token=bot.token)
    bot.session.fail_next(401, "Unauthorized")
    with pytest.raises(Exception):
        await bot(GetMe())
    assert (status.state, status.reason) == ("down", TOKEN_REFUSED)

    await bot(GetMe())
    assert status.is_up
    bot.session.raise_next(TelegramNetworkError(GetUpdates(), f"Cannot connect to host for /bot{bot.token}/"))
    with pytest.raises(TelegramNetworkError):
        await bot(GetUpdates())  # what aiogram's polling loop does later, and retries by itself
    assert status.state == "down"
    assert status.reason is not None and "cannot reach the Bot API at http://bot-api.test" in status.reason
    assert bot.token not in status.reason
    assert [r.message for r in caplog.records if r.name == "shouwang.bot"][-1].startswith("Telegram bot down:")


async def test_the_outbox_waits_while_the_bot_is_down() -> None:
    class Messenger:
        calls = 0
        capabilities = TELEGRAM

        async def deliver(self, item: Outgoing) -> SendOutcome:
            self.calls += 1
            return SendOutcome(status="sent", message_id=1)

    inner, status = Messenger(), BotStatus()
    gated = WhileBotUp(inner, status, wait=5)
    item = Outgoing(delivery_id=1, address="telegram:1", kind="campaign", locale="zh-Hans")
    status.mark_down("connecting to the Bot API")
    assert await gated.deliver(item) == SendOutcome(status="rate_limited", retry_after=5, error="bot_down")
    status.mark_up()
    assert (await gated.deliver(item)).status == "sent" and inner.calls == 1
    assert gated.capabilities is TELEGRAM  # what it holds back can carry what it could
