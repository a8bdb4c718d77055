"""make bench-alert: how long a red alert takes to reach the child director while a 100,000-guardian
lesson drains through the same outbox.

Seeds 100,000 guardians, plans one lesson for all of them (lane 2), starts the production sender
(Sender.run, the real aiogram Bot and messenger, an in-process fake Bot API) at Telegram's
~30 msg/s, lets it drain for a few seconds, then raises a red alert through the real service
(the alert's notifications are lane 0) and measures, in real time, until the director's chat
receives the card. Repeated a few times; the worst case is the figure. Target (issue #5): every
director within a minute.

    .venv/bin/python scripts/bench_alert_latency.py [--guardians N] [--rate R] [--alerts K]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from aiogram import Bot  # noqa: E402
from aiogram.client.default import DefaultBotProperties  # noqa: E402
from aiogram.enums import ParseMode  # noqa: E402
from sqlalchemy import func, select  # noqa: E402

from bench_push import SLOT, FakeBotAPI, seed  # noqa: E402
from bot.i18n import build_i18n  # noqa: E402
from bot.messenger import TelegramMessenger  # noqa: E402
from core.alerts.raising import AlertSubject, raise_alert  # noqa: E402
from core.config import PROJECT_ROOT, Settings  # noqa: E402
from core.db import make_engine, make_sessionmaker  # noqa: E402
from core.delivery.planning import plan_due_lessons  # noqa: E402
from core.delivery.ratelimit import TokenBucket  # noqa: E402
from core.delivery.sender import Sender, SenderConfig  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.models import Cohort, Delivery, Staff, StaffCohort  # noqa: E402

DIRECTOR_CHATS = (900_000_001, 900_000_002)


async def add_directors(sessionmaker, now) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session, session.begin():
        cohort_id = await session.scalar(select(Cohort.id))
        for n, chat_id in enumerate(DIRECTOR_CHATS):
            staff = Staff(display_name=f"主任{n}", role="director", token_hash=f"{n:064d}", telegram_chat_id=chat_id,
                          locale="zh-Hans", active=True, is_bootstrap=False, created_at=now)
            session.add(staff)
            await session.flush()
            session.add(StaffCohort(staff_id=staff.id, cohort_id=cohort_id, is_primary=n == 0))


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--guardians", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=30.0, help="the sender's cap in msg/s (Telegram: ~30)")
    parser.add_argument("--alerts", type=int, default=3, help="alerts raised, a few seconds apart")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="shouwang-bench-alert-"))
    engine = make_engine(f"sqlite+aiosqlite:///{tmp / 'bench.db'}")
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    started = time.perf_counter()

    def clock():  # type: ignore[no-untyped-def]
        """Real time, starting at the lesson's slot (the sender paces each chat by this clock)."""
        return SLOT + timedelta(seconds=time.perf_counter() - started)

    await seed(sessionmaker, args.guardians, SLOT)
    await add_directors(sessionmaker, SLOT)
    planned = await plan_due_lessons(sessionmaker, now=clock())
    print(f"{planned:,} lesson deliveries waiting in lane 2; sender capped at {args.rate:g} msg/s")

    settings = Settings(_env_file=None, var_dir=tmp, telegram_token="1:bench")
    api = FakeBotAPI()
    arrivals: dict[int, list[float]] = {chat: [] for chat in DIRECTOR_CHATS}
    original = api.make_request

    async def recording(bot, method, timeout=None):  # type: ignore[no-untyped-def]
        result = await original(bot, method, timeout)
        if int(method.chat_id) in arrivals:
            arrivals[int(method.chat_id)].append(time.perf_counter())
        return result

    api.make_request = recording  # type: ignore[method-assign]
    bot = Bot("1:bench", session=api, default=DefaultBotProperties(parse_mode=ParseMode.HTML))
    messenger = TelegramMessenger(bot, build_i18n(settings), media_root=PROJECT_ROOT / "content" / "media")
    config = SenderConfig(rate=args.rate)  # the production default batch size for this rate
    sender = Sender(sessionmaker, messenger, clock=clock, config=config, bucket=TokenBucket(args.rate))
    stop = asyncio.Event()
    running = asyncio.create_task(sender.run(stop, idle=0.05))

    latencies = []
    for k in range(args.alerts):
        await asyncio.sleep(4.0)  # the lesson is in full flow (the benchmark's own stopwatch)
        before = {chat: len(times) for chat, times in arrivals.items()}
        async with sessionmaker() as session, session.begin():
            subject = AlertSubject(f"child:{k + 1}", 1, k + 1, child_id=k + 1)
            await raise_alert(session, subject=subject, source="weekly_checkin", source_version=2,
                              rule_id="safety_self_harm", severity="red", audience="child", reason="bench",
                              evidence={"answers": {"safety": 1}}, seen=("check_in_ids", k + 1), check_in_id=None,
                              now=clock())
        raised = time.perf_counter()
        while any(len(arrivals[c]) == before[c] for c in DIRECTOR_CHATS):
            if time.perf_counter() - raised > 120:
                break
            await asyncio.sleep(0.01)
        worst = max((arrivals[c][before[c]] - raised) if len(arrivals[c]) > before[c] else float("inf")
                    for c in DIRECTOR_CHATS)
        latencies.append(worst)
        lessons_sent = sum(api.received.values()) - sum(len(t) for t in arrivals.values())
        print(f"alert {k + 1}: every director had it {worst:.2f} s after it was raised "
              f"({lessons_sent:,} lesson messages sent so far)")
    stop.set()
    await running
    async with sessionmaker() as session:
        pending = await session.scalar(select(func.count()).select_from(Delivery)
                                       .where(Delivery.kind == "lesson", Delivery.state == "pending"))
    await engine.dispose()
    worst = max(latencies)
    print(f"lessons still waiting when the benchmark stopped: {pending:,} (the lesson was still draining)")
    print(f"worst alert latency: {worst:.2f} s (target < 60 s)")
    ok = worst < 60 and (pending or 0) > 0
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
