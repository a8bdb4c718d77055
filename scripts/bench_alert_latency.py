"""make bench-alert: how long a red alert takes to reach the child directors while a large lesson
drains through the same outbox — over real HTTP, against the Bot API double that enforces
Telegram's limits (tests/doubles/bot_api.py, its own process).

Seeds guardians, plans one lesson for all of them (lane 2), runs the production sender (the real
aiogram bot pointed at the double, the messenger, Sender.run) at `--rate` (default Telegram's
~30 msg/s; try 300 for a misconfigured rate and its 429 storm), raises red alerts through the
real service every few seconds (their cards are lane 0) and measures, by the double's clock,
until every director's chat has the card. The worst case is the figure. Target (issues #5, #16):
every director within a minute.

    .venv/bin/python scripts/bench_alert_latency.py [--guardians N] [--rate R] [--alerts K] [--every S]
"""
from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from sqlalchemy import func, select  # noqa: E402

from bench_push import SLOT, TOKEN, Double, add_directors, report, scenario, seed  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db import make_engine, make_sessionmaker  # noqa: E402
from core.delivery.planning import plan_due_lessons  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.models import Delivery  # noqa: E402


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--guardians", type=int, default=20_000)
    parser.add_argument("--rate", type=float, default=30.0, help="the sender's configured rate in msg/s")
    parser.add_argument("--alerts", type=int, default=3, help="red alerts raised during the drain")
    parser.add_argument("--every", type=float, default=8.0, help="seconds between alerts")
    args = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="shouwang-bench-alert-"))
    url = f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    engine = make_engine(url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    started = time.perf_counter()

    def clock() -> datetime:
        return SLOT + timedelta(seconds=time.perf_counter() - started)

    await seed(sessionmaker, args.guardians, SLOT)
    await add_directors(sessionmaker, SLOT)
    planned = await plan_due_lessons(sessionmaker, now=clock())
    print(f"{planned:,} lesson deliveries waiting in lane 2; sender configured at {args.rate:g} msg/s")
    double = Double()
    settings = Settings(_env_file=None, var_dir=tmp, telegram_token=TOKEN, telegram_api_base=double.base,
                        database_url=url)
    try:
        r = await scenario("alerts", double=double, sessionmaker=sessionmaker, settings=settings, clock=clock,
                           rate=args.rate, paid=False, seconds=args.alerts * args.every, messages=10**9,
                           alerts_every=args.every)
    finally:
        await double.close()
    report(r, 30)
    async with sessionmaker() as session:
        pending = await session.scalar(select(func.count()).select_from(Delivery)
                                       .where(Delivery.kind == "lesson", Delivery.state == "pending"))
    await engine.dispose()
    worst = max(r.get("alert_latencies") or [float("inf")])
    print(f"lessons still waiting when the benchmark stopped: {pending:,} (the lesson was still draining)")
    print(f"worst alert latency: {worst:.2f} s (target < 60 s)")
    ok = worst < 60 and (pending or 0) > 0
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
