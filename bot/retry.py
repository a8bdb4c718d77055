"""Replies survive Telegram's flood control.

Everything a handler sends to a person (message.answer, bot.send_message, edits, callback
answers) goes through one Bot API session; this request middleware sits on it. When Telegram
answers 429 with `retry_after`, the request waits that long and is sent again, a bounded number
of times, so a burst delays a reply instead of dropping it.

Why a session middleware and not the outbox for replies: a reply is part of an update being
handled — the handler may need the sent message (its id) and runs in its own task, so waiting
there costs nothing else; an outbox row would add a database write and a sender round trip to
every "OK" a grandmother gets. The outbox keeps what must survive a restart (alerts, safety
messages, lessons, check-ins).

Sharing the limit with the outbox sender: the sender sends at SEND_RATE (25/s by default), below
Telegram's ~30/s; the rest is the share kept for interactive replies, which therefore never wait
for the sender's pacing. When a reply does get a 429, `on_pause` tells the sender (its token
bucket, shared across processes on PostgreSQL) to hold bulk sending for the same time plus a
short head start, so the replies waiting out the pause go first when it ends (lane 0 for
replies, ahead of bulk).

Requests made by the outbox sender itself (inside `outbox_request()`) are not retried here: the
sender has its own answer to a 429 — the row goes back to the queue and every sender pauses.
Messages a handler sends at once as outbox rows (the safety message, /lesson, card redraws,
"someone is answering": core.flows.delivery.deliver_now through bot.messenger) are outbox
requests too: a 429 hands the row to the sender at once, rather than wait while the row is theirs.

While a reply waits, the update's database transaction is committed first (`hold_session`), so
a long pause never holds SQLite's write lock (every session there begins IMMEDIATE). Handlers
commit what they did before they reply anyway; this only ends the transaction early (the
update then counts as handled even if the handler fails after the wait).
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextvars import ContextVar
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.exceptions import TelegramRetryAfter
from aiogram.methods import AnswerCallbackQuery, GetUpdates, Response, TelegramMethod
from aiogram.methods.base import TelegramType
from sqlalchemy.ext.asyncio import AsyncSession

log = logging.getLogger(__name__)

Sleep = Callable[[float], Awaitable[None]]

# Bulk waits this much longer than the replies that hit the same 429, so replies go first.
REPLY_HEAD_START = 1.0

_outbox_request: ContextVar[bool] = ContextVar("shouwang_outbox_request", default=False)
_update_session: ContextVar[AsyncSession | None] = ContextVar("shouwang_update_session", default=None)


@contextlib.contextmanager
def outbox_request() -> Iterator[None]:
    """Bot API calls made inside are the outbox sender's: a 429 is reported, not waited out."""
    token = _outbox_request.set(True)
    try:
        yield
    finally:
        _outbox_request.reset(token)


def in_outbox_request() -> bool:
    """Is this call the outbox sender's (inside `outbox_request()`)?"""
    return _outbox_request.get()


@contextlib.contextmanager
def hold_session(session: AsyncSession) -> Iterator[None]:
    """The update's database session, so a reply that must wait can end its transaction first."""
    token = _update_session.set(session)
    try:
        yield
    finally:
        _update_session.reset(token)


class ReplyRetry(BaseRequestMiddleware):
    """On 429, wait `retry_after` (through the injected `sleep`) and send again, at most
    `attempts` times in all; a wait longer than `max_wait` seconds is not waited out (the error
    goes to the handler, as before). `on_pause(seconds)` is told of every pause."""

    def __init__(
        self,
        *,
        attempts: int = 5,
        max_wait: float = 300.0,
        sleep: Sleep = asyncio.sleep,
        on_pause: Callable[[float], None] | None = None,
    ) -> None:
        self.attempts = max(1, attempts)
        self.max_wait = max_wait
        self.sleep = sleep
        self.on_pause = on_pause
        self.waited = 0  # replies that waited out a 429 (for logs and tests)

    async def __call__(
        self, make_request: NextRequestMiddlewareType[TelegramType], bot: Bot, method: TelegramMethod[TelegramType],
    ) -> Response[TelegramType]:
        # Long polling has its own back-off; outbox rows are the sender's to reschedule.
        if _outbox_request.get() or isinstance(method, GetUpdates):
            return await make_request(bot, method)
        attempt = 1
        while True:
            try:
                return await make_request(bot, method)
            except TelegramRetryAfter as exc:
                wait = float(exc.retry_after)
                if isinstance(method, AnswerCallbackQuery):
                    # Only stops the button's spinner (Telegram stops it by itself), and a query
                    # answered late is refused anyway: go on to the real reply, which does wait.
                    log.info("answerCallbackQuery rate limited (retry_after=%ss); not answered", exc.retry_after)
                    return cast(Response[TelegramType], True)
                if attempt >= self.attempts or wait > self.max_wait:
                    log.warning("%s to chat %s: still rate limited after %s tries (retry_after=%ss); giving up",
                                type(method).__name__, _chat(method), attempt, exc.retry_after)
                    raise
                if self.on_pause is not None:
                    self.on_pause(wait + REPLY_HEAD_START)
                log.info("%s to chat %s: rate limited, sending again in %ss (try %s)", type(method).__name__,
                         _chat(method), exc.retry_after, attempt + 1)
                await _end_transaction()
                self.waited += 1
                await self.sleep(wait)
                attempt += 1


async def _end_transaction() -> None:
    session = _update_session.get()
    if session is not None and session.in_transaction():
        await session.commit()


def _chat(method: TelegramMethod[Any]) -> object:
    return getattr(method, "chat_id", None) or "-"
