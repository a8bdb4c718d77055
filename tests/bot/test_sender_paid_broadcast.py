"""Paid broadcast: with it on, the sender's bulk sends (lanes 1–2) carry Telegram's
allow_paid_broadcast and lane 0 (safety, alert cards) never does; with it off, nothing does.
And once over real HTTP: the production bot (SHOUWANG_TELEGRAM_API_BASE) and sender against the
local Bot API double, which holds them to its limits and answers 429 with retry_after."""
from __future__ import annotations

import asyncio
from datetime import datetime, timezone
from pathlib import Path

import pytest
from aiogram.methods import SendMessage
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.factory import build_bot
from bot.i18n import build_i18n
from bot.messenger import TelegramMessenger
from core.clock import FrozenClock
from core.config import Settings
from core.delivery.outbox import enqueue
from core.delivery.ratelimit import TokenBucket
from core.flows.delivery import sender_hooks
from core.delivery.sender import Sender, SenderConfig
from mocked_bot import MockedBot
from tests.doubles.bot_api import BotAPIDouble

T0 = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
LANE_CHATS = {0: 5_000, 1: 5_001, 2: 5_002}


class NoWait:
    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


async def _one_per_lane(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    async with sessionmaker() as session, session.begin():
        for lane, chat in LANE_CHATS.items():
            await enqueue(session, address=f"telegram:{chat}", kind="campaign", ref=f"campaign:{lane}", cycle="1", lane=lane,
                          due_at=clock(), now=clock(), payload={"texts": {"zh-Hans": f"lane {lane}"}})


def _sender(sessionmaker: async_sessionmaker[AsyncSession], messenger: TelegramMessenger, clock: FrozenClock, *,
            paid: bool) -> Sender:
    t = NoWait()
    config = SenderConfig(rate=30, paid_broadcast=paid, paid_rate=1000)
    return Sender(sessionmaker, messenger, hooks=sender_hooks(), clock=clock, config=config,
                  bucket=TokenBucket(30, monotonic=t.monotonic, sleep=t.sleep),
                  paid_bucket=TokenBucket(1000, monotonic=t.monotonic, sleep=t.sleep) if paid else None)


@pytest.mark.parametrize("paid", [True, False])
async def test_paid_broadcast_only_on_bulk_lanes(
    sessionmaker: async_sessionmaker[AsyncSession], bot: MockedBot, settings: Settings, clock: FrozenClock,
    tmp_path: Path, paid: bool,
) -> None:
    clock.set(T0)
    await _one_per_lane(sessionmaker, clock)
    messenger = TelegramMessenger(bot, build_i18n(settings), media_root=tmp_path)
    assert (await _sender(sessionmaker, messenger, clock, paid=paid).drain_once()).sent == 3
    flags = {int(r.chat_id): r.allow_paid_broadcast for r in bot.requests if isinstance(r, SendMessage)}
    expected = {LANE_CHATS[0]: None, LANE_CHATS[1]: True if paid else None, LANE_CHATS[2]: True if paid else None}
    assert flags == expected


async def test_sender_over_http_against_the_bot_api_double(
    sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: FrozenClock, tmp_path: Path,
) -> None:
    """Lanes 0–2 go out over HTTP with the flag where it belongs; the double, set to 1 msg/s
    free, refuses the second unflagged send in the same second with Telegram's 429, and the
    sender pauses, cuts its rate and sends it after retry_after. The double's clock is injected."""
    now = [100.0]
    double = BotAPIDouble(free_rate=1, monotonic=lambda: now[0])
    double.record_calls = True
    base = await double.start()
    try:
        clock.set(T0)
        await _one_per_lane(sessionmaker, clock)
        async with sessionmaker() as session, session.begin():
            await enqueue(session, address="telegram:5003", kind="campaign", ref="campaign:9", cycle="1", lane=0,
                          due_at=clock(), now=clock(), payload={"texts": {"zh-Hans": "lane 0 again"}})
        bot = build_bot(settings.model_copy(update={"telegram_token": "1:T", "telegram_api_base": base}))
        messenger = TelegramMessenger(bot, build_i18n(settings), media_root=tmp_path)
        t = NoWait()
        bucket = TokenBucket(30, monotonic=t.monotonic, sleep=t.sleep)  # far above the double's 2/s
        sender = Sender(sessionmaker, messenger, hooks=sender_hooks(), clock=clock, bucket=bucket,
                        config=SenderConfig(rate=30, paid_broadcast=True, concurrency=1),
                        paid_bucket=TokenBucket(1000, monotonic=t.monotonic, sleep=t.sleep))
        first = await sender.drain_once()
        assert (first.sent, first.retried) == (3, 1)  # lane 0 twice (unflagged), lanes 1–2 (paid)
        assert double.stats.rejected == {"free": 1}
        assert bucket.cuts == 1 and bucket.rate == 15.0 and bucket.paused_for() == 1.0  # retry_after
        flagged = {int(p["chat_id"]): p.get("allow_paid_broadcast") for m, p in double.calls if m == "sendmessage"}
        assert flagged[LANE_CHATS[0]] is None and flagged[LANE_CHATS[1]] == flagged[LANE_CHATS[2]] == "true"
        now[0] += 1
        clock.advance(seconds=1)
        assert (await sender.drain_once()).sent == 1
        assert double.stats.accepted == 4 and double.stats.paid == 2
        await bot.session.close()
    finally:
        await double.stop()
        await asyncio.sleep(0)
