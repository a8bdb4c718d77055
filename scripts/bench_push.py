"""make bench-push: 100,000 guardians in one cohort, one lesson due.

Measures (1) planning time, tick → outbox rows, on SQLite; (2) the sender's sustained rate through
the real aiogram Bot and messenger against an in-process fake Bot API, at caps of 30 and 1,000
msg/s; and checks that every guardian got exactly one message. Targets (issue #3): planning
under 5 s; the sender holds at least 95% of the cap at both caps.

    .venv/bin/python scripts/bench_push.py [--guardians N] [--window-30 SECONDS]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from collections import Counter
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiogram import Bot  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.client.session.base import BaseSession  # noqa: E402
from aiogram.enums import ParseMode  # noqa: E402
from aiogram.methods import SendMessage, SendPhoto, SendVoice, TelegramMethod  # noqa: E402
from aiogram.types import Chat, Message  # noqa: E402
from sqlalchemy import func, insert, select  # noqa: E402

from bot.i18n import build_i18n  # noqa: E402
from bot.messenger import TelegramMessenger  # noqa: E402
from core.clock import FrozenClock  # noqa: E402
from core.config import PROJECT_ROOT, Settings  # noqa: E402
from core.content.loader import load_content  # noqa: E402
from core.db import make_engine, make_sessionmaker  # noqa: E402
from core.delivery.planning import plan_due_lessons  # noqa: E402
from core.delivery.ratelimit import TokenBucket  # noqa: E402
from core.delivery.sender import Sender, SenderConfig  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.models import Child, Cohort, Delivery, Guardian, Household  # noqa: E402

SLOT = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)  # Monday 20:00 Asia/Shanghai
FIRST_CHAT = 1_000_000


class FakeBotAPI(BaseSession):
    """Answers every send at once, in process, and records who got what."""

    def __init__(self) -> None:
        super().__init__()
        self.received: Counter[int] = Counter()
        self.times: list[float] = []
        self._id = 0

    async def close(self) -> None:
        pass

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        if not isinstance(method, (SendMessage, SendPhoto, SendVoice)):
            raise AssertionError(f"unexpected {type(method).__name__}")
        self._id += 1
        self.received[int(method.chat_id)] += 1
        self.times.append(time.perf_counter())
        return Message(message_id=self._id, date=datetime.now(timezone.utc),
                       chat=Chat(id=int(method.chat_id), type="private"), text="ok")

    async def stream_content(self, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def]
        yield b""


async def seed(sessionmaker, n: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session, session.begin():
        await load_content(session, root=PROJECT_ROOT / "content", now=now)
        cohort = Cohort(name="bench", region="", timezone="Asia/Shanghai", default_locale="zh-Hans",
                        lesson_schedule={"days": ["mon", "thu"], "time": "20:00"}, checkin_schedule={},
                        created_at=now)
        session.add(cohort)
        await session.flush()
        cohort_id = cohort.id
    created = now - timedelta(days=7)
    step = 20_000
    for start in range(0, n, step):
        ids = range(start + 1, min(start + step, n) + 1)
        async with sessionmaker() as session, session.begin():
            await session.execute(insert(Household), [{"id": i, "cohort_id": cohort_id, "created_at": created} for i in ids])
            await session.execute(insert(Child), [
                {"household_id": i, "nickname": f"c{i}", "birth_year": 2011 + i % 10, "birth_month": 1 + i % 12,
                 "created_at": created, "updated_at": created} for i in ids])
            await session.execute(insert(Guardian), [
                {"id": i, "household_id": i, "chat_id": FIRST_CHAT + i, "locale": "zh-Hans" if i % 5 else "en",
                 "relationship": "grandmother", "lives_with_children": bool(i % 4), "status": "active",
                 "consent_version": 1, "consented_at": created, "created_at": created, "updated_at": created,
                 "quiet_start": "21:30", "quiet_end": "08:00"} for i in ids])


async def measure_rate(sender: Sender, api: FakeBotAPI, *, seconds: float | None, total: int) -> tuple[int, float]:
    """Run the sender as production does (Sender.run) for a time window, or until `total` were
    sent; the sustained rate counts from the first to the last send."""
    start_count = len(api.times)
    stop = asyncio.Event()

    async def watch() -> None:
        deadline = time.perf_counter() + seconds if seconds else None
        while len(api.times) - start_count < total and not (deadline and time.perf_counter() >= deadline):
            await asyncio.sleep(0.05)  # the benchmark's own stopwatch, not a test
        stop.set()

    await asyncio.gather(sender.run(stop, idle=0.05), watch())
    times = api.times[start_count:]
    if len(times) < 2:
        return len(times), 0.0
    return len(times), (len(times) - 1) / (times[-1] - times[0])


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--guardians", type=int, default=100_000)
    parser.add_argument("--window-30", type=float, default=20.0, help="seconds to measure the 30 msg/s cap")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="shouwang-bench-"))
    engine = make_engine(f"sqlite+aiosqlite:///{tmp / 'bench.db'}")
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    clock = FrozenClock(SLOT)
    t = time.perf_counter()
    await seed(sessionmaker, args.guardians, SLOT)
    print(f"seeded {args.guardians:,} guardians in {time.perf_counter() - t:.1f} s")

    t = time.perf_counter()
    planned = await plan_due_lessons(sessionmaker, now=clock())
    planning = time.perf_counter() - t
    again = await plan_due_lessons(sessionmaker, now=clock())
    print(f"planning: {planned:,} deliveries in {planning:.2f} s on SQLite (target < 5 s); "
          f"second tick added {again}")

    settings = Settings(_env_file=None, var_dir=tmp, telegram_token="1:bench")
    api = FakeBotAPI()
    bot = Bot("1:bench", session=api, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    messenger = TelegramMessenger(bot, build_i18n(settings), media_root=PROJECT_ROOT / "content" / "media")
    results = {}
    for cap, window in ((30, args.window_30), (1000, None)):
        config = SenderConfig(rate=cap)  # the production defaults: batch ≈ 2 s of sending
        sender = Sender(sessionmaker, messenger, clock=clock, config=config, bucket=TokenBucket(cap))
        # The frozen clock stays at the slot: the sender's per-chat pacing uses it, real time paces the cap.
        remaining = planned - sum(api.received.values())
        sent, rate = await measure_rate(sender, api, seconds=window, total=remaining)
        results[cap] = rate
        print(f"sender at cap {cap:>5} msg/s: {sent:,} sent, sustained {rate:,.1f} msg/s "
              f"({100 * rate / cap:.1f}% of cap; target ≥ 95%)")

    async with sessionmaker() as session:
        states = dict((await session.execute(
            select(Delivery.state, func.count()).where(Delivery.kind == "lesson").group_by(Delivery.state))).all())
    once = sum(1 for c in api.received.values() if c == 1)
    more = sum(1 for c in api.received.values() if c > 1)
    print(f"delivery states: {states}")
    print(f"guardians with exactly one message: {once:,} of {args.guardians:,}; with more than one: {more}")
    await engine.dispose()
    ok = (planning < 5 and all(results[c] >= 0.95 * c for c in results) and once == args.guardians and more == 0)
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
