"""Sends made at once by handlers use the configured sender settings (SHOUWANG_SEND_*), built by
the one function the worker's sender uses too (core.flows.delivery.sender_config), never
SenderConfig's defaults."""
from __future__ import annotations

import pytest
from aiogram import Dispatcher
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import SendMessage

from bot.middlewares.messenger import MessengerMiddleware
from cli.roles import build_sender
from core.config import Settings
from core.delivery.sender import SenderConfig
from core.flows.delivery import sender_config
from core.models import Delivery
from tests.bot.test_checkins import tick  # noqa: F401 — a fixture
from tests.bot.test_one_send_path import SUNDAY_1905, safety_messages

ONE_TRY = 1


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """Give up after the first failed try, where the default is five."""
    assert SenderConfig().max_attempts != ONE_TRY
    return settings.model_copy(update={"send_max_attempts": ONE_TRY, "send_rate": 7.0})


async def test_a_lesson_sent_at_once_gives_up_after_the_configured_attempts(enrol, db, bot, sender):
    grandma = await enrol()
    bot.session.raise_next(TelegramNetworkError(method=None, message="network down"),  # type: ignore[arg-type]
                           method=SendMessage)
    await grandma.send("/lesson")
    [row] = await db.all(Delivery, Delivery.kind == "lesson")
    # One try was all SHOUWANG_SEND_MAX_ATTEMPTS allowed: failed, not waiting for a second try.
    assert (row.state, row.attempts, row.last_error) == ("failed", 1, "network_error")
    assert (await sender.drain_once()).claimed == 0


async def test_a_safety_message_is_still_retried_whatever_the_attempts(enrol, db, bot, clock, tick):
    grandma = await enrol()
    clock.set(SUNDAY_1905)
    await tick()
    for value in (0, 0, 0, 0, 0):
        await grandma.answer(value)
    bot.session.raise_next(TelegramNetworkError(method=None, message="network down"),  # type: ignore[arg-type]
                           method=SendMessage)
    await grandma.answer(2)
    assert safety_messages(grandma) == []
    [row] = await db.all(Delivery, Delivery.kind == "safety")
    assert (row.state, row.attempts) == ("pending", 1)  # persistent: never given up


def test_the_handlers_and_the_worker_build_the_same_config(dp: Dispatcher, settings: Settings, sessionmaker):
    [middleware] = [m for m in dp.update.outer_middleware if isinstance(m, MessengerMiddleware)]
    assert middleware.config == sender_config(settings)
    assert (middleware.config.max_attempts, middleware.config.rate) == (ONE_TRY, 7.0)
    assert build_sender(settings, sessionmaker, messenger=None).config == sender_config(settings)
