"""The bot never takes the rest down.

If Telegram cannot be reached, or refuses the token, at start-up or later, the API, the tick,
escalation and the outbox keep running in the same process; the bot keeps trying with back-off
and says why in the log; /healthz shows `bot: down` with the reason (core.health.BotStatus);
outbox rows wait (they are not failed) and go out once it is back.

- `BotWatch`, a Bot API request middleware, reads every getMe and getUpdates answer and keeps
  the status: up when one succeeds, down with the reason when one fails. Polling after start-up
  is aiogram's own loop (it retries with back-off); this is how its failures become visible.
- `keep_polling` connects (getMe) with back-off — a refused token is retried at the slowest
  pace — then polls until stopped.
- `WhileBotUp` wraps the outbox messenger: while the bot is down a claimed row goes back to the
  queue as if rate-limited (no attempt used, every sender pauses), instead of burning its
  retries and failing.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from aiogram import Bot, Dispatcher
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import (
    TelegramConflictError,
    TelegramNetworkError,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetMe, GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import User
from aiogram.utils.backoff import BackoffConfig

from core.health import BotStatus
from core.ports import Capabilities, Messenger, Outgoing, SendOutcome

log = logging.getLogger("shouwang.bot")

Sleep = Callable[[float], Awaitable[None]]
TOKEN_REFUSED = "the Bot API refused the token (401 Unauthorized): check SHOUWANG_TELEGRAM_TOKEN"
CONNECTING = "connecting to the Bot API"


def why_down(exc: BaseException, *, api_base: str, token: str | None = None) -> str:
    """A one-line reason for operators (the token never appears in it)."""
    if isinstance(exc, TelegramUnauthorizedError):
        return TOKEN_REFUSED
    if isinstance(exc, TelegramConflictError):
        return "another process is polling this bot token (409 Conflict): run exactly one bot"
    if isinstance(exc, TelegramServerError):
        reason = f"the Bot API at {api_base} answered with a server error"
    elif isinstance(exc, (TelegramNetworkError, OSError, asyncio.TimeoutError)):
        detail = getattr(exc, "message", None) or type(exc).__name__
        reason = f"cannot reach the Bot API at {api_base} ({detail})"
    else:
        reason = f"the Bot API at {api_base} failed: {type(exc).__name__}"
    reason = " ".join(reason.split())[:200]
    return reason.replace(token, "***") if token else reason


class BotWatch(BaseRequestMiddleware):
    def __init__(self, status: BotStatus, *, api_base: str, token: str | None) -> None:
        self.status = status
        self.api_base = api_base
        self.token = token

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        if not isinstance(method, (GetMe, GetUpdates)):
            return await make_request(bot, method)
        try:
            result = await make_request(bot, method)
        except Exception as exc:
            reason = why_down(exc, api_base=self.api_base, token=self.token)
            if self.status.mark_down(reason) and isinstance(method, GetUpdates):
                log.error("Telegram bot down: %s; the API, tick and outbox keep running; polling retries with back-off",
                          reason)
            raise
        if self.status.mark_up() and isinstance(method, GetUpdates):
            log.warning("Telegram bot: connected again (polling)")
        return result


def install_watch(bot: Bot, status: BotStatus, *, api_base: str, token: str | None) -> BotWatch:
    watch = BotWatch(status, api_base=api_base, token=token)
    bot.session.middleware(watch)
    return watch


async def keep_polling(
    bot: Bot,
    dispatcher: Dispatcher,
    *,
    status: BotStatus,
    min_delay: float,
    max_delay: float,
    on_connected: Callable[[User], Awaitable[None]],
    sleep: Sleep = asyncio.sleep,
    connect_timeout: float = 30.0,
) -> None:
    """Connect with back-off (min_delay doubling to max_delay; a refused token waits max_delay),
    then poll until the dispatcher is stopped. Never raises for Telegram's sake."""
    max_delay = max(max_delay, min_delay)
    delay = min_delay
    if status.state == "off":
        status.mark_down(CONNECTING)
    while True:
        try:
            me = await bot.get_me(request_timeout=int(max(1, connect_timeout)))
            await on_connected(me)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 — whatever it is, the rest of the process stays up
            if isinstance(exc, TelegramUnauthorizedError):
                wait = max_delay
            else:
                wait, delay = delay, min(delay * 2, max_delay)
            # BotWatch (when installed) has put the precise reason on the status already.
            watched = status.state == "down" and status.reason not in (None, CONNECTING)
            reason = status.reason if watched else why_down(exc, api_base="the Bot API")
            status.mark_down(reason or CONNECTING)
            log.error("Telegram bot down: %s; the API, tick and outbox keep running; trying again in %g s",
                      reason, wait)
            await sleep(wait)
            continue
        log.warning("Telegram bot: connected as @%s", me.username)
        backoff = BackoffConfig(min_delay=min_delay, max_delay=max(max_delay, min_delay * 1.5), factor=2.0,
                                jitter=0.1)
        try:
            await dispatcher.start_polling(bot, handle_signals=False, close_bot_session=False,
                                           backoff_config=backoff)
            return  # stopped on purpose (shutdown)
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 — e.g. Telegram went away between getMe and polling
            status.mark_down(why_down(exc, api_base="the Bot API"))
            log.error("Telegram bot down: polling stopped (%s); connecting again in %g s", type(exc).__name__,
                      min_delay)
            delay = min_delay
            await sleep(min_delay)


class WhileBotUp:
    """The outbox messenger, held back while the bot is down: rows wait instead of failing."""

    def __init__(self, messenger: Messenger, status: BotStatus, *, wait: float) -> None:
        self.messenger = messenger
        self.status = status
        self.wait = wait

    @property
    def capabilities(self) -> Capabilities:
        return self.messenger.capabilities

    async def deliver(self, item: Outgoing) -> SendOutcome:
        if not self.status.is_up:
            return SendOutcome(status="rate_limited", retry_after=self.wait, error="bot_down")
        return await self.messenger.deliver(item)
