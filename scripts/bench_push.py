"""make bench-push: the outbox sender over REAL HTTP against a local Bot API double that enforces
Telegram's limits (tests/doubles/bot_api.py, in its own process on 127.0.0.1): 30 msg/s without
allow_paid_broadcast, 1,000 msg/s with it, 1 msg/s per chat, 429 with retry_after — and a lock-out
for whoever ignores it.

Scenarios, one cohort of guardians with one lesson due (lane 2), the production bot (aiogram's
AiohttpSession pointed at the double through SHOUWANG_TELEGRAM_API_BASE), messenger and sender:
  free      send_rate = 30 (the cap), for a time window: sustained rate and 429s;
  paid      paid broadcast on, paid rate 1,000: sustained rate and 429s;
  storm     send_rate = 300 (10× the cap, misconfigured), a campaign of N messages: the share of
            requests answered 429, and red alerts raised during it: seconds until every
            director's chat has the card (lane 0, through the same free limit).
  senders   (--senders 1,2,3, PostgreSQL only) the paid campaign drained by N sender PROCESSES
            sharing the outbox (FOR UPDATE SKIP LOCKED) and the budget rows, each built as the
            worker builds its sender (cli.roles.build_sender, WORKER_POOL engine, ByChannel over
            the TelegramMessenger): msg/s, % of the 1,000 cap, 429s per 1,000, duplicates and
            missed messages (both must be 0), CPU per message summed over the processes.
Targets (issue #16): free and paid ≥ 95% of the cap with < 1 × 429 per 1,000 messages; storm
< 5% of requests answered 429 and every alert card within 60 s. Planning time (issue #3: < 5 s
for 100,000 on SQLite) is printed too.

    .venv/bin/python scripts/bench_push.py            # quick: ~13,000 guardians, a few minutes
    .venv/bin/python scripts/bench_push.py --full     # 100,000 guardians, storm of 10,000
    [--only free,paid,storm] [--database-url postgresql+asyncpg://…/NAME_WITH_bench]
    --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/shouwang_bench_push --senders 1,2,3
A PostgreSQL database is emptied first (created when missing); its name must contain "bench".
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
from sqlalchemy import delete, func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.factory import build_bot  # noqa: E402
from bot.i18n import build_i18n  # noqa: E402
from bot.messenger import TelegramMessenger  # noqa: E402
from core.alerts.raising import AlertSubject, raise_alert  # noqa: E402
from core.config import PROJECT_ROOT, Settings  # noqa: E402
from core.catalog.loading import load_content  # noqa: E402
from core.db import WORKER_POOL, make_engine, make_sessionmaker  # noqa: E402
from core.delivery.planning import plan_due_lessons  # noqa: E402
from core.delivery.sender import Sender  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.models import Child, Cohort, Delivery, Endpoint, Guardian, Household, SendBudget, Staff, StaffCohort  # noqa: E402
from core.ports import Outgoing, SendOutcome  # noqa: E402

SLOT = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)  # Monday 20:00 Asia/Shanghai
FIRST_CHAT = 1_000_000
DIRECTOR_CHATS = (900_000_001, 900_000_002)
TOKEN = "1:bench"
WINDOW_GUARD: float | None = None
PROFILE: str | None = None  # --profile: cProfile of each scenario's sending, to this path + name


# ---------------------------------------------------------------- the double, in its own process


class Double:
    """tests/doubles/bot_api.py as a separate process (as Telegram is not on our event loop)."""

    def __init__(self, *, free_rate: float = 30, paid_rate: float = 1000) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.doubles.bot_api", "--free-rate", str(free_rate), "--paid-rate",
             str(paid_rate)], cwd=ROOT, stdout=subprocess.PIPE, text=True)
        assert self.proc.stdout is not None
        self.base = json.loads(self.proc.stdout.readline())["base"]
        self.http = aiohttp.ClientSession()

    async def reset(self, watch: tuple[int, ...] = ()) -> None:
        async with self.http.post(f"{self.base}/reset", json={"watch": list(watch)}) as r:
            r.raise_for_status()

    async def stats(self) -> dict[str, Any]:
        async with self.http.get(f"{self.base}/stats") as r:
            return await r.json()

    def cpu_seconds(self) -> float:
        """CPU time the double's process has used (user + system)."""
        fields = Path(f"/proc/{self.proc.pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    async def close(self) -> None:
        await self.http.close()
        self.proc.terminate()
        self.proc.wait(timeout=10)


# ---------------------------------------------------------------- the data


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
                {"id": i, "household_id": i, "locale": "zh-Hans" if i % 5 else "en",
                 "relationship": "grandmother", "lives_with_children": bool(i % 4), "status": "active",
                 "consent_version": 1, "consented_at": created, "created_at": created, "updated_at": created,
                 "quiet_start": "21:30", "quiet_end": "08:00"} for i in ids])
            await session.execute(insert(Endpoint), [
                {"owner": "guardian", "guardian_id": i, "channel": "telegram", "address": f"telegram:{FIRST_CHAT + i}",
                 "state": "active", "rank": 0, "state_changed_at": created, "created_at": created} for i in ids])


async def add_directors(sessionmaker, now: datetime) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session, session.begin():
        cohort_id = await session.scalar(select(Cohort.id))
        for n, chat_id in enumerate(DIRECTOR_CHATS):
            staff = Staff(display_name=f"主任{n}", role="director", token_hash=f"{n:064d}",
                          locale="zh-Hans", active=True, is_bootstrap=False, created_at=now)
            session.add(staff)
            await session.flush()
            session.add(Endpoint(owner="staff", staff_id=staff.id, channel="telegram", address=f"telegram:{chat_id}",
                                 state="active", rank=0, state_changed_at=now, created_at=now))
            session.add(StaffCohort(staff_id=staff.id, cohort_id=cohort_id, is_primary=n == 0))


async def raise_red_alert(sessionmaker, k: int, now: datetime) -> None:  # type: ignore[no-untyped-def]
    """A red alert through the real service: its cards for the directors are lane-0 rows."""
    async with sessionmaker() as session, session.begin():
        subject = AlertSubject(f"child:{k}", 1, k, child_id=k)
        await raise_alert(session, subject=subject, source="weekly_checkin", source_version=2,
                          rule_id="safety_self_harm", severity="red", audience="child", reason="bench",
                          evidence={"answers": {"safety": 1}}, seen=("check_in_ids", k), check_in_id=None, now=now)


# ---------------------------------------------------------------- running the sender


class Counting:
    """The real messenger, counting what went through (the scenario's stop condition)."""

    def __init__(self, inner: TelegramMessenger) -> None:
        self.inner = inner
        self.sent = 0
        self.capabilities = inner.capabilities

    async def deliver(self, item: Outgoing) -> SendOutcome:
        outcome = await self.inner.deliver(item)
        if outcome.status == "sent" and item.lane != 0:
            self.sent += 1
        return outcome


def build_sender(sessionmaker, messenger, clock, settings: Settings, *, rate: float, paid: bool):  # type: ignore[no-untyped-def]
    """As cli.roles.build_sender: shared buckets on PostgreSQL, in-process ones on SQLite."""
    from cli.roles import build_sender as production

    settings = settings.model_copy(update={"send_rate": rate, "paid_broadcast": paid})
    sender: Sender = production(settings, sessionmaker, messenger)
    sender.clock = clock
    for bucket in (sender.bucket, sender.paid_bucket):
        if bucket is not None and hasattr(bucket, "clock"):
            bucket.clock = clock  # type: ignore[attr-defined]
    return sender


async def scenario(
    name: str, *, double: Double, sessionmaker, settings: Settings, clock, rate: float, paid: bool,  # type: ignore[no-untyped-def]
    seconds: float | None, messages: int, alerts_every: float | None = None,
) -> dict[str, Any]:
    await double.reset(watch=DIRECTOR_CHATS)
    bot = build_bot(settings)
    messenger = Counting(TelegramMessenger(bot, build_i18n(settings), media_root=PROJECT_ROOT / "content" / "media"))
    sender = build_sender(sessionmaker, messenger, clock, settings, rate=rate, paid=paid)
    if WINDOW_GUARD is not None:
        for bucket in (sender.bucket, sender.paid_bucket):
            if bucket is not None:
                bucket.window_guard = WINDOW_GUARD
    stop = asyncio.Event()
    raised: list[float] = []
    load_before = os.getloadavg()

    async def outbox_empty() -> bool:
        try:
            async with sessionmaker() as session:
                return not await session.scalar(select(func.count()).select_from(Delivery).where(
                    Delivery.kind == "lesson", Delivery.state.in_(("pending", "sending"))))
        except Exception:  # noqa: BLE001 — SQLite busy under the sender's writes: look again later
            return False

    async def watch() -> None:
        started = time.time()
        next_alert = started + (alerts_every or 0) / 2
        checked = started
        while messenger.sent < messages and not (seconds and time.time() - started >= seconds):
            if time.time() - checked > 2:
                checked = time.time()
                if await outbox_empty():
                    print(f"  ({name}: the outbox ran dry after {messenger.sent:,} messages)")
                    break
            if alerts_every and time.time() >= next_alert:
                raised.append(time.time())
                await raise_red_alert(sessionmaker, 1000 + len(raised), clock())
                next_alert += alerts_every
            await asyncio.sleep(0.1)  # the benchmark's own stopwatch, not a test
        stop.set()

    profiler = None
    if PROFILE:
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    t0, cpu0, dcpu0 = time.perf_counter(), time.process_time(), double.cpu_seconds()
    await asyncio.gather(sender.run(stop, idle=0.05), watch())
    wall = time.perf_counter() - t0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{PROFILE}.{name}")
        print(f"  (profile of the {name} scenario in {PROFILE}.{name})")
    cpu, dcpu = time.process_time() - cpu0, double.cpu_seconds() - dcpu0
    if raised:  # let the last cards arrive (the sender is stopped: a short lane-0 drain)
        stop2 = asyncio.Event()
        tail = asyncio.create_task(sender._run_urgent(stop2))  # lane 0 only: no more lessons
        deadline = time.time() + 90
        while time.time() < deadline:
            s = await double.stats()
            if all(len(s["watched"][str(c)]) >= len(raised) for c in DIRECTOR_CHATS):
                break
            await asyncio.sleep(0.2)
        stop2.set()
        await tail
    await bot.session.close()
    s = await double.stats()
    accepted = s["accepted"] - sum(len(v) for v in s["watched"].values())
    span = (s["last_at"] - s["first_at"]) if s["first_at"] and s["last_at"] else 0.0
    result = {
        "name": name, "rate_configured": rate, "paid": paid, "accepted": accepted, "requests": s["requests"],
        "too_many_requests": s["too_many_requests"], "rejected": s["rejected"], "paid_sends": s["paid"],
        "sustained": (s["accepted"] - 1) / span if span > 0 else 0.0, "wall": wall,
        "rate_end": sender.budget_for(2).rate, "cuts": sender.budget_for(2).cuts + (
            sender.bucket.cuts if sender.paid_bucket is not None else 0),
        "dupes": s["chats_more_than_once"] - sum(1 for v in s["watched"].values() if len(v) > 1),
        "cpu": cpu, "double_cpu": dcpu,
        "rejected_at": s["rejected_at"], "first_at": s["first_at"], "load": load_before, "load_after": os.getloadavg(), "cut_log": getattr(sender.budget_for(2), "cut_log", []),
    }
    if raised:
        latencies = []
        for k, at in enumerate(raised):
            per_director = [s["watched"][str(c)][k] - at if len(s["watched"][str(c)]) > k else float("inf")
                            for c in DIRECTOR_CHATS]
            latencies.append(max(per_director))
        result["alert_latencies"] = latencies
    return result


# ---------------------------------------------------------------- several sender processes


async def fresh_postgres(url: str) -> None:
    """An empty schema in the bench's own database (created when missing). Refuses any database
    whose name does not say it is a benchmark's."""
    import asyncpg  # type: ignore[import-untyped]

    parsed = make_url(url)
    if "bench" not in (parsed.database or ""):
        raise SystemExit(f"refusing to empty {parsed.database!r}: the bench database's name must contain 'bench'")
    dsn = parsed.set(drivername="postgresql")
    admin = await asyncpg.connect(dsn.set(database="postgres").render_as_string(hide_password=False))
    try:
        if not await admin.fetchval("select 1 from pg_database where datname = $1", parsed.database):
            await admin.execute(f'create database "{parsed.database}"')
    finally:
        await admin.close()
    conn = await asyncpg.connect(dsn.render_as_string(hide_password=False))
    try:
        await conn.execute("drop schema public cascade; create schema public")
    finally:
        await conn.close()


def _proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def sender_process(args: argparse.Namespace) -> int:
    """One sender process as the worker runs it, until SIGTERM; prints its CPU time as JSON."""
    started = args.clock_origin

    def clock() -> datetime:
        return SLOT + timedelta(seconds=time.perf_counter() - started)

    from core.delivery.channels import ByChannel

    settings = Settings(_env_file=None, var_dir=Path(tempfile.mkdtemp(prefix="shouwang-sender-")),
                        telegram_token=TOKEN, telegram_api_base=args.api_base, database_url=args.database_url)
    engine = make_engine(args.database_url, role=WORKER_POOL)
    statements = [0]  # SQL statements sent (an executemany counts once)

    def count(*_: Any) -> None:
        statements[0] += 1

    from sqlalchemy import event

    event.listen(engine.sync_engine, "before_cursor_execute", count)
    sessionmaker = make_sessionmaker(engine)
    bot = build_bot(settings)
    messenger = ByChannel({"telegram": TelegramMessenger(bot, build_i18n(settings),
                                                         media_root=PROJECT_ROOT / "content" / "media")})
    sender = build_sender(sessionmaker, messenger, clock, settings, rate=30, paid=True)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    from cli.roles import freeze_startup_objects

    if not os.environ.get("BENCH_NO_GC_FREEZE"):  # as `shouwang run` does once started
        freeze_startup_objects()
    print("ready", flush=True)
    await asyncio.get_running_loop().run_in_executor(None, sys.stdin.readline)  # "go": all start together
    profiler = None
    if args.profile:
        import cProfile

        profiler = cProfile.Profile(time.process_time)  # CPU time: what the other helpers' load does not inflate
        profiler.enable()
    cpu0 = time.process_time()
    await sender.run(stop, idle=0.05)
    cpu = time.process_time() - cpu0
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(f"{args.profile}.sender{os.getpid()}")
    await bot.session.close()
    await engine.dispose()
    print(json.dumps({"cpu": cpu, "cuts": sender.paid_bucket.cuts if sender.paid_bucket else 0,
                      "statements": statements[0]}), flush=True)
    return 0


async def senders_scenario(n: int, *, double: Double, sessionmaker, url: str, started: float,  # type: ignore[no-untyped-def]
                           planned: int, timeout: float) -> dict[str, Any]:
    """The planned campaign drained by `n` sender processes with paid broadcast on."""
    await double.reset()
    procs = [subprocess.Popen(
        [sys.executable, str(Path(__file__).resolve()), "--sender-process", "--database-url", url,
         "--api-base", double.base, "--clock-origin", repr(started)] + (["--profile", PROFILE] if PROFILE else []),
        cwd=ROOT, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True) for _ in range(n)]
    for proc in procs:  # imports and connections done before anyone starts
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
    load_before = os.getloadavg()
    dcpu0 = double.cpu_seconds()
    t0 = time.perf_counter()
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write("go\n")
        proc.stdin.flush()

    async def left() -> int:
        async with sessionmaker() as session:
            return int(await session.scalar(select(func.count()).select_from(Delivery).where(
                Delivery.kind == "lesson", Delivery.state.in_(("pending", "sending")))) or 0)

    while time.perf_counter() - t0 < timeout and await left():
        await asyncio.sleep(0.5)  # the benchmark's own stopwatch, not a test
    wall = time.perf_counter() - t0
    backends = await backend_cpu(sessionmaker)  # before the senders' connections close
    for proc in procs:
        proc.send_signal(signal.SIGTERM)
    outs = [json.loads(proc.communicate(timeout=60)[0].strip().splitlines()[-1]) for proc in procs]
    s = await double.stats()
    async with sessionmaker() as session:
        states = dict((await session.execute(select(Delivery.state, func.count()).where(
            Delivery.kind == "lesson").group_by(Delivery.state))).all())
    span = (s["last_at"] - s["first_at"]) if s["first_at"] and s["last_at"] else 0.0
    return {
        "senders": n, "planned": planned, "accepted": s["accepted"], "requests": s["requests"],
        "connections": s["connections"],
        "too_many_requests": s["too_many_requests"], "rejected": s["rejected"], "paid_sends": s["paid"],
        "sustained": (s["accepted"] - 1) / span if span > 0 else 0.0, "wall": wall,
        "dupes": s["chats_more_than_once"], "missed": planned - s["chats"], "states": states,
        "cpu": sum(o["cpu"] for o in outs), "cpu_each": [o["cpu"] for o in outs],
        "statements": sum(o["statements"] for o in outs), "cuts": sum(o["cuts"] for o in outs), "double_cpu": double.cpu_seconds() - dcpu0, "pg_cpu": backends,
        "load": load_before, "load_after": os.getloadavg(),
    }


async def backend_cpu(sessionmaker) -> float:  # type: ignore[no-untyped-def]
    """CPU seconds used so far by the PostgreSQL backends serving the bench's database other than
    this process's own: the senders' connections, opened at their first claim after "go"
    (0.0 when the server is not on this machine)."""
    async with sessionmaker() as session:
        pids = (await session.scalars(text(
            "select pid from pg_stat_activity where datname = current_database() and pid <> pg_backend_pid()"))).all()
    total = 0.0
    for pid in pids:
        try:
            total += _proc_cpu(pid)
        except OSError:
            pass
    return total


def report_senders(r: dict[str, Any], cap: float = 1000) -> bool:
    per_1000 = 1000 * r["too_many_requests"] / max(r["accepted"], 1)
    n = max(r["accepted"], 1)
    ok = (r["sustained"] >= 0.95 * cap and per_1000 < 1 and r["dupes"] == 0 and r["missed"] == 0
          and r["paid_sends"] == r["accepted"])
    print(f"  senders={r['senders']}: {r['accepted']:,} of {r['planned']:,} planned sent in {r['wall']:.1f} s, "
          f"sustained {r['sustained']:,.1f} msg/s = {100 * r['sustained'] / cap:.1f}% of the {cap:g} cap (target ≥ 95%); "
          f"429s {r['too_many_requests']} = {per_1000:.2f} per 1,000 (target < 1) {r['rejected']}; "
          f"duplicates {r['dupes']}, missed {r['missed']} (targets 0, 0); rate cuts {r['cuts']}; "
          f"load {r['load'][0]:.2f} → {r['load_after'][0]:.2f}  {'PASS' if ok else 'FAIL'}")
    total = r["cpu"] + r["double_cpu"] + r["pg_cpu"]
    print(f"         CPU per message: senders {1000 * r['cpu'] / n:.2f} ms in all "
          f"({', '.join(f'{c:.1f}' for c in r['cpu_each'])} s), their PostgreSQL backends {1000 * r['pg_cpu'] / n:.2f} ms, "
          f"the double {1000 * r['double_cpu'] / n:.2f} ms: {1000 * total / n:.2f} ms, i.e. at most "
          f"≈ {n / max(total, 1e-9):,.0f} msg/s per free core; SQL statements {1000 * r['statements'] / n:.0f} per "
          f"1,000 messages (claims, results, budget, leases, lane-0 polls); {r['connections']} HTTP connections "
          f"for {r['requests']:,} requests (kept alive); lesson states {r['states']}")
    return ok


def report(r: dict[str, Any], cap: float) -> bool:
    per_1000 = 1000 * r["too_many_requests"] / max(r["accepted"], 1)
    share = 100 * r["too_many_requests"] / max(r["requests"], 1)
    configured = "paid broadcast at 1,000 msg/s (lane 0 at 30)" if r["paid"] else f"{r['rate_configured']:g} msg/s"
    print(f"  {r['name']:<6} configured {configured}: "
          f"{r['accepted']:,} sent in {r['wall']:.1f} s, sustained {r['sustained']:,.1f} msg/s = "
          f"{100 * r['sustained'] / cap:.1f}% of the {cap:g} cap; 429s: {r['too_many_requests']} "
          f"({per_1000:.2f} per 1,000 messages, {share:.2f}% of {r['requests']:,} requests) {r['rejected']}; "
          f"rate cuts {r['cuts']}, rate at the end {r['rate_end']:.1f}; duplicates {r['dupes']}; "
          f"load {r['load'][0]:.2f} → {r['load_after'][0]:.2f}")
    n = max(r["accepted"], 1)
    print(f"         CPU: sender process {1000 * r['cpu'] / n:.2f} ms per message ({r['cpu']:.1f} s in {r['wall']:.1f} s "
          f"wall), the double {1000 * r['double_cpu'] / n:.2f} ms per message — on one free core each, "
          f"≈ {n / max(r['cpu'], 1e-9):,.0f} msg/s of sender CPU")
    if r["rejected_at"]:
        first = r["first_at"] or r["rejected_at"][0]
        buckets: dict[int, int] = {}
        for t in r["rejected_at"]:
            buckets[int((t - first) // 10) * 10] = buckets.get(int((t - first) // 10) * 10, 0) + 1
        print("         429s per 10 s from the first send: " + ", ".join(f"{k}s: {v}" for k, v in sorted(buckets.items())))
    if r["cut_log"]:
        t0 = r["cut_log"][0][0]
        print("         rate cuts (s after the first: from msg/s): "
              + ", ".join(f"{t - t0:.1f}: {rate:.1f}" for t, rate in r["cut_log"]))
    if "alert_latencies" in r:
        lat = r["alert_latencies"]
        print(f"         red alerts raised during the drain: {len(lat)}, seconds until every director had the "
              f"card: {', '.join(f'{x:.2f}' for x in lat)} (worst {max(lat, default=float('nan')):.2f}; target < 60)")
        if r["name"] != "alerts":
            return share < 5 and bool(lat) and max(lat) < 60
    if r["name"] == "alerts":
        return bool(r.get("alert_latencies")) and max(r["alert_latencies"]) < 60
    if r["paid"]:
        return r["sustained"] >= 0.95 * cap and per_1000 < 1 and r["paid_sends"] == r["accepted"]
    return r["sustained"] >= 0.95 * cap and per_1000 < 1


async def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--full", action="store_true", help="100,000 guardians and a 10,000-message storm")
    parser.add_argument("--guardians", type=int)
    parser.add_argument("--window-30", type=float, help="seconds to measure the 30 msg/s cap")
    parser.add_argument("--paid-messages", type=int, help="messages for the 1,000 msg/s measurement")
    parser.add_argument("--storm-messages", type=int, help="messages in the misconfigured campaign")
    parser.add_argument("--alerts-every", type=float, default=15.0, help="seconds between red alerts in the storm")
    parser.add_argument("--only", default="free,paid,storm")
    parser.add_argument("--database-url", help="default: a fresh SQLite file")
    parser.add_argument("--window-guard", type=float, help="override SenderConfig.window_guard (seconds)")
    parser.add_argument("--profile", help="write a cProfile of each scenario's sending to PROFILE.<scenario>")
    parser.add_argument("--senders", help="PostgreSQL: drain the paid campaign with N sender processes, e.g. 1,2,3")
    parser.add_argument("--sender-timeout", type=float, default=120.0, help="seconds per --senders run at most")
    parser.add_argument("--sender-process", action="store_true", help=argparse.SUPPRESS)  # one child
    parser.add_argument("--api-base", help=argparse.SUPPRESS)
    parser.add_argument("--clock-origin", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender_process:
        return await sender_process(args)
    global WINDOW_GUARD, PROFILE
    WINDOW_GUARD, PROFILE = args.window_guard, args.profile
    if args.senders:
        return await main_senders(args)
    window = args.window_30 or (60.0 if args.full else 20.0)
    paid_n = args.paid_messages or (80_000 if args.full else 10_000)
    storm_n = args.storm_messages or (10_000 if args.full else 2_000)
    only = set(args.only.split(","))
    need = int((window * 30 + paid_n + storm_n) * 1.2)  # each scenario may overshoot by a batch
    guardians = args.guardians or max(100_000 if args.full else 0, need)

    tmp = Path(tempfile.mkdtemp(prefix="shouwang-bench-"))
    url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    if url.startswith("postgresql"):
        await fresh_postgres(url)
    engine = make_engine(url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    started = time.perf_counter()

    def clock() -> datetime:
        """Real time from the lesson's slot (per-chat pacing and leases use it)."""
        return SLOT + timedelta(seconds=time.perf_counter() - started)

    t = time.perf_counter()
    await seed(sessionmaker, guardians, SLOT)
    await add_directors(sessionmaker, SLOT)
    print(f"seeded {guardians:,} guardians in {time.perf_counter() - t:.1f} s ({url.split(':')[0]})")
    t = time.perf_counter()
    planned = await plan_due_lessons(sessionmaker, now=clock())
    print(f"planning: {planned:,} deliveries in {time.perf_counter() - t:.2f} s (target < 5 s at 100,000 on SQLite)")

    double = Double()
    settings = Settings(_env_file=None, var_dir=tmp, telegram_token=TOKEN, telegram_api_base=double.base,
                        database_url=url)
    print(f"Bot API double at {double.base} (own process); machine: {os.cpu_count()} cores shared with other "
          f"work; uptime load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    from cli.roles import freeze_startup_objects

    freeze_startup_objects()  # as `shouwang run` does once started
    ok = True
    common = dict(double=double, sessionmaker=sessionmaker, settings=settings, clock=clock)
    try:
        if "free" in only:
            r = await scenario("free", rate=30, paid=False, seconds=window, messages=10**9, **common)
            ok &= report(r, 30)
        if "paid" in only:
            r = await scenario("paid", rate=30, paid=True, seconds=None, messages=paid_n, **common)
            ok &= report(r, 1000)
        if "storm" in only:
            r = await scenario("storm", rate=300, paid=False, seconds=None, messages=storm_n,
                               alerts_every=args.alerts_every, **common)
            ok &= report(r, 30)
    finally:
        await double.close()
    async with sessionmaker() as session:
        states = dict((await session.execute(
            select(Delivery.state, func.count()).where(Delivery.kind == "lesson").group_by(Delivery.state))).all())
    print(f"lesson delivery states: {states}")
    await engine.dispose()
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


async def main_senders(args: argparse.Namespace) -> int:
    """--senders 1,2,3: the paid campaign (--paid-messages, default 10,000) drained by N sender
    processes on PostgreSQL, once for each N, the outbox planned afresh before each run."""
    url = args.database_url or ""
    if not url.startswith("postgresql"):
        raise SystemExit("--senders needs --database-url postgresql+asyncpg://…/NAME_WITH_bench")
    counts = [int(x) for x in args.senders.split(",")]
    planned_n = args.paid_messages or (80_000 if args.full else 10_000)
    await fresh_postgres(url)
    engine = make_engine(url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    started = time.perf_counter()

    def clock() -> datetime:
        return SLOT + timedelta(seconds=time.perf_counter() - started)

    await seed(sessionmaker, planned_n, SLOT)
    double = Double()
    print(f"{planned_n:,} guardians on PostgreSQL; Bot API double at {double.base} (own process); "
          f"{os.cpu_count()} cores shared with other work; load {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    ok = True
    try:
        for n in counts:
            async with sessionmaker() as session, session.begin():
                await session.execute(delete(Delivery))  # the same campaign again, from nothing sent
            planned = await plan_due_lessons(sessionmaker, now=clock())
            async with sessionmaker() as session, session.begin():
                await session.execute(delete(SendBudget))  # each run starts from the configured rates
            r = await senders_scenario(n, double=double, sessionmaker=sessionmaker, url=url, started=started,
                                       planned=planned, timeout=args.sender_timeout)
            ok &= report_senders(r)
    finally:
        await double.close()
        await engine.dispose()
    print("RESULT:", "PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
