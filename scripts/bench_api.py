"""make bench-api: the staff API under load, with the safety net running beside it (issue #16).

Seeds one cohort of 10,000 households (bulk inserts: guardians, children, four weeks of weekly
check-ins with their deliveries, lessons sent, alerts with their cases and referrals, audit rows),
starts the real server in a child process — uvicorn with the API on its pool, and the real
scheduler tick and /healthz on theirs, wired as `shouwang run` wires them (core.db roles) — then,
for each main list endpoint and the funnel report, runs 16 concurrent clients for 20 s over real
HTTP. Reports p50/p99 per endpoint, the count of 5xx answers, the tick's runs and skips while
each endpoint was under load, what /healthz said (polled once a second throughout), and the time
to close a case (which plans its follow-up) at that size — and the CPU each request cost the
server's processes (API, tick and /healthz, from /proc) and this client process. The clients
use aiohttp (about 0.3 ms of CPU a request here; httpx about 2 ms, on the same 2 cores as the
server): `--client httpx` to compare; `--plain-server` serves on asyncio's loop with h11.

Targets: p99 < 300 ms for the lists, < 1 s for the reports (the funnel, delivery statistics), no
500, the tick never skipped, a case closed in < 50 ms.

    .venv/bin/python scripts/bench_api.py [--db URL] [--workers N] [--households N] [--clients N] [--seconds S] [--quick]

--db defaults to a fresh SQLite file in a temporary directory. A PostgreSQL URL names a database
this script creates and drops again: its name must contain "bench" (it is dropped first!).
"""
from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import resource
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import aiohttp  # noqa: E402 — imported here, not in the first phase's measured CPU
import httpx  # noqa: E402
from sqlalchemy import insert, select, text, update  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from core.config import PROJECT_ROOT, Settings  # noqa: E402
from core.db import make_engine, make_sessionmaker  # noqa: E402
from core.models import (  # noqa: E402
    Alert, AuditLog, Case, CaseEvent, CheckIn, Child, Cohort, Delivery, Endpoint, Guardian, Household, Questionnaire,
)

ADMIN_TOKEN = "bench-admin-token"
ADMIN = {"Authorization": f"Bearer {ADMIN_TOKEN}"}
LIST_TARGET_MS = 300
FUNNEL_TARGET_MS = 1000
CLOSE_TARGET_MS = 50
WEEKS = 4  # of weekly check-ins and lessons, all inside the funnel's default 30 days


# ---------------------------------------------------------------- database set-up


async def create_database(url: str) -> None:
    name = make_url(url).database or ""
    if "bench" not in name:
        raise SystemExit(f"refusing to drop and create database {name!r}: its name must contain 'bench'")
    admin = make_engine(make_url(url).set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            await conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        await admin.dispose()


async def drop_database(url: str) -> None:
    name = make_url(url).database
    admin = make_engine(make_url(url).set(database="postgres").render_as_string(hide_password=False),
                        isolation_level="AUTOCOMMIT")
    try:
        async with admin.connect() as conn:
            await conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    finally:
        await admin.dispose()


@dataclass
class Seeded:
    cohort_id: int
    director_token: str
    child_ids: list[int]
    open_case_ids: list[int]
    rows: dict[str, int] = field(default_factory=dict)


async def _bulk(conn: Any, table: Any, rows: list[dict[str, Any]], chunk: int = 5000) -> None:
    for start in range(0, len(rows), chunk):
        await conn.execute(insert(table), rows[start:start + chunk])


async def seed(url: str, households: int, now: datetime) -> Seeded:
    """Migrate, load the shipped content, create the cohort and its director through the API's
    own factory, then bulk-insert the rest (explicit ids, executemany in chunks)."""
    from api.main import create_app
    from core.clock import FrozenClock
    from core.catalog.loading import load_content
    from core.migrate import upgrade

    rnd = random.Random(16)
    engine = make_engine(url)
    try:
        await upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        async with sessionmaker() as session, session.begin():
            await load_content(session, root=PROJECT_ROOT / "content", now=now)
        settings = Settings(_env_file=None, database_url=url, admin_token=ADMIN_TOKEN)
        app = create_app(settings=settings, sessionmaker=sessionmaker, clock=FrozenClock(now))
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://seed") as client:
            cohort = (await client.post("/api/v1/cohorts", json={"name": "Bench village"}, headers=ADMIN)).json()
            director = (await client.post("/api/v1/staff", headers=ADMIN, json={
                "display_name": "Bench director", "role": "director", "cohort_ids": [cohort["id"]],
                "primary_cohort_ids": [cohort["id"]]})).json()
        cohort_id, director_id = cohort["id"], director["id"]
        async with sessionmaker() as session:
            version = await session.scalar(select(Questionnaire.version)
                                           .where(Questionnaire.id == "weekly_checkin")
                                           .order_by(Questionnaire.version.desc()).limit(1))

        start = now - timedelta(days=60)
        hh, gu, ch, ep = [], [], [], []
        for h in range(1, households + 1):
            hh.append({"id": h, "cohort_id": cohort_id, "created_at": start})
        gid = cid = 0
        first_guardian: dict[int, tuple[int, int]] = {}
        child_household: dict[int, int] = {}
        for h in range(1, households + 1):
            for n in range(2 if rnd.random() < 0.3 else 1):
                gid += 1
                gu.append({"id": gid, "household_id": h, "locale": "zh-Hans",
                           "relationship": "grandmother" if n == 0 else "father", "lives_with_children": n == 0,
                           "status": "active", "consent_version": 1, "consented_at": start, "quiet_start": "21:30",
                           "quiet_end": "08:00", "created_at": start, "updated_at": start})
                ep.append({"owner": "guardian", "guardian_id": gid, "channel": "telegram",
                           "address": f"telegram:{10_000_000 + gid}", "state": "active", "rank": 0,
                           "state_changed_at": start, "created_at": start})
                first_guardian.setdefault(h, (gid, f"telegram:{10_000_000 + gid}"))
            for _ in range(2 if rnd.random() < 0.5 else 1):
                cid += 1
                child_household[cid] = h
                ch.append({"id": cid, "household_id": h, "nickname": f"c{cid}", "birth_year": rnd.randint(2011, 2021),
                           "birth_month": rnd.randint(1, 12), "sex": "girl", "created_at": start, "updated_at": start})

        checkins, deliveries, alerts, cases, events, audit = [], [], [], [], [], []
        did = 0
        alerted: set[int] = set()
        open_cases: list[int] = []
        for week in range(WEEKS, 0, -1):
            at = now - timedelta(days=7 * week - 1)
            for child, h in child_household.items():
                k = len(checkins) + 1
                done = rnd.random() < 0.6
                checkins.append({"id": k, "questionnaire_id": "weekly_checkin", "questionnaire_version": version,
                                 "household_id": h, "child_id": child, "subject_key": f"child:{child}",
                                 "cohort_id": cohort_id, "cycle": f"bench-{week}", "state": "completed" if done else "expired",
                                 "cursor": 0, "created_at": at, "due_at": at, "expires_at": at + timedelta(days=3),
                                 "reminded_count": 0, "completed_at": at + timedelta(hours=5) if done else None})
                g, chat = first_guardian[h]
                did += 1
                deliveries.append({"id": did, "address": chat, "guardian_id": g, "cohort_id": cohort_id, "kind": "checkin",
                                   "ref": f"checkin:{k}", "ref_kind": "checkin", "ref_id": k, "cycle": f"bench-{week}",
                                   "lane": 1, "state": "sent", "due_at": at, "attempts": 1, "payload": {"checkin_id": k},
                                   "lesson_id": None, "lesson_version": None,
                                   "created_at": at, "sent_at": at, "finished_at": at})
                if done and child not in alerted and rnd.random() < 0.03:
                    alerted.add(child)
                    case_id = len(cases) + 1
                    state = rnd.choice(["open", "acknowledged", "resolved", "resolved"])
                    alerts.append({"id": len(alerts) + 1, "subject_key": f"child:{child}", "child_id": child,
                                   "household_id": h, "guardian_id": g, "cohort_id": cohort_id,
                                   "severity": rnd.choice(["red", "orange", "yellow"]), "audience": "child",
                                   "rule_id": "low_mood", "questionnaire_id": "weekly_checkin",
                                   "questionnaire_version": version, "check_in_id": k, "evidence": {"check_in_ids": [k]},
                                   "reason": "bench", "status": state, "created_at": at + timedelta(hours=5),
                                   "occurrences": 1, "last_seen_at": at + timedelta(hours=5), "case_id": case_id,
                                   "acknowledged_at": at + timedelta(hours=rnd.randint(6, 40)) if state != "open" else None,
                                   "resolved_at": at + timedelta(days=2) if state == "resolved" else None,
                                   "escalation_level": 0,
                                   "escalate_at": now + timedelta(days=1) if state == "open" else None})
                    is_open = state != "resolved"
                    cases.append({"id": case_id, "cohort_id": cohort_id, "subject_key": f"child:{child}",
                                  "child_id": child, "household_id": h, "status": "open" if is_open else "closed",
                                  "responsible_staff_id": director_id, "opened_at": at + timedelta(hours=5),
                                  "closed_at": None if is_open else at + timedelta(days=2),
                                  "outcome": None if is_open else "safe_now"})
                    if is_open:
                        open_cases.append(case_id)
                    if rnd.random() < 0.3:
                        events.append({"case_id": case_id, "cohort_id": cohort_id, "household_id": h,
                                       "staff_id": director_id, "at": at + timedelta(days=1), "kind": "referral",
                                       "detail": {"to": "school"}})
        for week in range(WEEKS, 0, -1):
            at = now - timedelta(days=7 * week - 2)
            for g in gu:
                did += 1
                deliveries.append({"id": did, "address": f"telegram:{10_000_000 + g['id']}", "guardian_id": g["id"], "cohort_id": cohort_id,
                                   "kind": "lesson", "ref": "schedule", "ref_kind": None, "ref_id": None,
                                   "cycle": f"bench-{week}", "lane": 2,
                                   "state": "sent" if rnd.random() < 0.95 else "failed", "due_at": at, "attempts": 1,
                                   "payload": {}, "lesson_id": "praise_the_deed", "lesson_version": 1,
                                   "created_at": at, "sent_at": at, "finished_at": at})
        for n in range(5 * households):
            audit.append({"at": start + timedelta(seconds=n * 60 * 86400 // (5 * households)), "staff_id": director_id,
                          "action": "read", "entity": rnd.choice(["household", "alert", "case", "child"]),
                          "entity_id": rnd.randint(1, households), "cohort_id": cohort_id, "detail": {}})

        async with engine.begin() as conn:
            for table, rows in ((Household, hh), (Guardian, gu), (Endpoint, ep), (Child, ch), (CheckIn, checkins),
                                (Delivery, deliveries), (Case, cases), (Alert, alerts), (CaseEvent, events),
                                (AuditLog, audit)):
                await _bulk(conn, table.__table__, rows)
            if engine.dialect.name == "postgresql":  # explicit ids: move the sequences past them
                for table in (Household, Guardian, Child, CheckIn, Delivery, Case, Alert):
                    name = table.__tablename__
                    await conn.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                                            f"(SELECT max(id) FROM {name}))"))
            await conn.execute(update(Cohort).where(Cohort.id == cohort_id).values(created_at=start))
        # A database in its steady state: statistics gathered, the bulk load out of SQLite's WAL.
        async with engine.connect() as conn:
            if engine.dialect.name == "postgresql":
                await conn.execute(text("COMMIT"))
                await conn.execute(text("ANALYZE"))
            else:
                await conn.execute(text("COMMIT"))
                await conn.exec_driver_sql("ANALYZE")
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        return Seeded(cohort_id=cohort_id, director_token=director["credentials"]["api_token"],
                      child_ids=list(child_household), open_case_ids=open_cases,
                      rows={"households": len(hh), "guardians": len(gu), "children": len(ch),
                            "check_ins": len(checkins), "deliveries": len(deliveries), "alerts": len(alerts),
                            "cases": len(cases), "audit_log": len(audit)})
    finally:
        await engine.dispose()


# ---------------------------------------------------------------- the server (child process)


async def serve(url: str, port: int, tick_seconds: int, events_path: Path, api_here: bool = True,
                http: str = "auto") -> None:
    """The API, the scheduler tick and /healthz wired as cli.roles.run_all wires them: one
    engine per role (core.db.API_POOL, WORKER_POOL, HEALTH_POOL). Every tick run, error, miss
    and skip is appended to events_path as one JSON line."""
    import uvicorn
    from apscheduler.events import EVENT_JOB_ERROR, EVENT_JOB_EXECUTED, EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED

    from api.main import create_app
    from cli.roles import build_scheduler
    from core.clock import system_clock
    from core.db import API_POOL, HEALTH_POOL, WORKER_POOL

    settings = Settings(_env_file=None, database_url=url, admin_token=ADMIN_TOKEN, tick_seconds=tick_seconds)
    engines = [make_engine(url, role=role) for role in (API_POOL, WORKER_POOL, HEALTH_POOL)]
    api, worker, health = (make_sessionmaker(e) for e in engines)
    app = create_app(settings=settings, sessionmaker=api, clock=system_clock, health_sessionmaker=health)
    out = events_path.open("a", buffering=1)
    kinds = {EVENT_JOB_EXECUTED: "run", EVENT_JOB_ERROR: "error", EVENT_JOB_MISSED: "missed",
             EVENT_JOB_MAX_INSTANCES: "skipped"}

    def on_event(event: Any) -> None:
        took = (datetime.now(timezone.utc) - event.scheduled_run_time).total_seconds() \
            if getattr(event, "scheduled_run_time", None) else None
        error = type(event.exception).__name__ if getattr(event, "exception", None) else None
        out.write(json.dumps({"t": time.time(), "kind": kinds[event.code], "seconds": took, "error": error}) + "\n")

    scheduler = build_scheduler(worker, settings)
    scheduler.add_listener(on_event, EVENT_JOB_EXECUTED | EVENT_JOB_ERROR | EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    scheduler.start()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error", access_log=False,
                                           http=http))
    try:
        if api_here:
            await server.serve()
        else:  # the API runs as `shouwang api --workers N` beside this process: only the tick here
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(sig, stop.set)
            await stop.wait()
    finally:
        scheduler.shutdown(wait=False)
        for engine in engines:
            await engine.dispose()


# ---------------------------------------------------------------- the load


@dataclass
class Phase:
    name: str
    target_ms: int
    latencies: list[float] = field(default_factory=list)
    statuses: Counter[int] = field(default_factory=Counter)
    errors: Counter[str] = field(default_factory=Counter)
    ticks: Counter[str] = field(default_factory=Counter)
    tick_max: float = 0.0
    server_cpu: float = 0.0  # seconds, the server's processes (API, tick, /healthz) while loaded
    client_cpu: float = 0.0  # seconds, this process (the clients and the /healthz poller)

    def cpu_ms(self, seconds: float) -> float:
        return seconds * 1000 / max(1, len(self.latencies) + sum(self.errors.values()))

    def pct(self, p: int) -> float:
        ordered = sorted(self.latencies)
        return ordered[max(0, min(len(ordered) - 1, int(round(p / 100 * len(ordered) + 0.5)) - 1))] if ordered else 0


def process_cpu(pid: int) -> float:
    """CPU seconds (user + system) of a process and all its descendants so far, from /proc (Linux);
    0.0 where there is no /proc."""
    total, todo, seen = 0.0, [pid], set()
    tick = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.add(p)
        try:
            fields = Path(f"/proc/{p}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
            for task in Path(f"/proc/{p}/task").iterdir():
                todo.extend(int(c) for c in (task / "children").read_text().split())
        except (OSError, ValueError, IndexError):
            continue
    return total


def own_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def load(base: str, phase: Phase, make_path: Any, headers: dict[str, str], clients: int, seconds: float,
               client_library: str = "aiohttp") -> None:
    """`clients` connections, each sending its next request when the last one answered, for
    `seconds`. aiohttp by default: on a 2-core machine the client shares the cores with the
    server, and aiohttp spends about a third of httpx's CPU a request (the bench prints both
    processes' CPU a request)."""
    deadline = time.perf_counter() + seconds
    if client_library == "httpx":
        limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
        async with httpx.AsyncClient(base_url=base, headers=headers, timeout=60, limits=limits) as http:
            async def client(n: int) -> None:
                rnd = random.Random(n)
                while time.perf_counter() < deadline:
                    t = time.perf_counter()
                    try:
                        response = await http.get(make_path(rnd))
                        phase.statuses[response.status_code] += 1
                    except httpx.HTTPError as exc:
                        phase.errors[type(exc).__name__] += 1
                        continue
                    phase.latencies.append((time.perf_counter() - t) * 1000)

            await asyncio.gather(*(client(n) for n in range(clients)))
        return
    connector = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(base, headers=headers, connector=connector,
                                     timeout=aiohttp.ClientTimeout(total=60)) as session:
        async def aio_client(n: int) -> None:
            rnd = random.Random(n)
            while time.perf_counter() < deadline:
                t = time.perf_counter()
                try:
                    async with session.get(make_path(rnd)) as response:
                        await response.read()
                        phase.statuses[response.status] += 1
                except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                    phase.errors[type(exc).__name__] += 1
                    continue
                phase.latencies.append((time.perf_counter() - t) * 1000)

        await asyncio.gather(*(aio_client(n) for n in range(clients)))


async def poll_health(base: str, seen: Counter[str], stop: asyncio.Event) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=10) as http:
        while not stop.is_set():
            try:
                body = (await http.get("/healthz")).json()
                seen[f"{body['status']}/database {body['database']}"] += 1
            except (httpx.HTTPError, ValueError) as exc:
                seen[type(exc).__name__] += 1
            try:
                await asyncio.wait_for(stop.wait(), 1.0)
            except asyncio.TimeoutError:
                pass


def read_ticks(path: Path, since: float, until: float) -> tuple[Counter[str], float]:
    counts: Counter[str] = Counter()
    longest = 0.0
    if path.exists():
        for line in path.read_text().splitlines():
            event = json.loads(line)
            if since <= event["t"] < until:
                counts[event["kind"] + (f" ({event['error']})" if event.get("error") else "")] += 1
                longest = max(longest, event["seconds"] or 0.0)
    return counts, longest


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


async def wait_up(base: str, proc: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient(base_url=base, timeout=2) as http:
        for _ in range(300):
            if proc.poll() is not None:
                raise SystemExit("the server exited while starting")
            try:
                if (await http.get("/healthz")).status_code in (200, 503):
                    return
            except httpx.HTTPError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the server did not start")


async def main(args: argparse.Namespace) -> int:
    tmp = Path(tempfile.mkdtemp(prefix="bench-api-"))
    url = args.db or f"sqlite+aiosqlite:///{tmp / 'bench.db'}"
    engine_name = "PostgreSQL" if url.startswith("postgresql") else "SQLite"
    if engine_name == "PostgreSQL":
        await create_database(url)
    now = datetime.now(timezone.utc)
    t = time.perf_counter()
    seeded = await seed(url, args.households, now)
    print(f"{engine_name}: seeded {', '.join(f'{v:,} {k}' for k, v in seeded.rows.items())} "
          f"in {time.perf_counter() - t:.1f} s", flush=True)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    events = tmp / "ticks.jsonl"
    proc = subprocess.Popen([sys.executable, __file__, "--serve", "--db", url, "--port", str(port),
                             "--tick-seconds", str(args.tick_seconds), "--events", str(events)]
                            + (["--plain-server"] if args.plain_server else [])
                            + (["--no-api"] if args.workers > 1 else []))
    api_proc = None
    if args.workers > 1:
        # The API as production runs it at scale: `shouwang api --workers N` (cli.asgi), beside
        # the tick's process.
        env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
        env.update(SHOUWANG_DATABASE_URL=url, SHOUWANG_PORT=str(port), SHOUWANG_ADMIN_TOKEN=ADMIN_TOKEN,
                   SHOUWANG_VAR_DIR=str(tmp / "var"), SHOUWANG_LOG_LEVEL="WARNING")
        api_proc = subprocess.Popen([sys.executable, "-m", "cli.main", "api", "--workers", str(args.workers)],
                                    cwd=PROJECT_ROOT, env=env, stdout=subprocess.DEVNULL)
    health: Counter[str] = Counter()
    stop = asyncio.Event()
    phases: list[Phase] = []
    closes: list[float] = []
    close_statuses: Counter[int] = Counter()
    try:
        await wait_up(base, api_proc or proc)
        poller = asyncio.create_task(poll_health(base, health, stop))
        c, children = seeded.cohort_id, seeded.child_ids
        director = {"Authorization": f"Bearer {seeded.director_token}"}
        until = now + timedelta(days=1)
        endpoints = [
            ("alerts", LIST_TARGET_MS, lambda r: f"/api/v1/alerts?cohort_id={c}", director),
            ("alerts (history, newest)", LIST_TARGET_MS,
             lambda r: f"/api/v1/alerts?cohort_id={c}&status=resolved&order=newest&offset={r.randint(0, 200)}", director),
            ("cases", LIST_TARGET_MS, lambda r: f"/api/v1/cases?cohort_id={c}&offset={r.randint(0, 200)}", director),
            ("households", LIST_TARGET_MS,
             lambda r: f"/api/v1/cohorts/{c}/households?offset={r.randint(0, max(0, args.households - 100))}", director),
            ("audit", LIST_TARGET_MS, lambda r: "/api/v1/audit?limit=100", ADMIN),
            ("deliveries stats", FUNNEL_TARGET_MS,  # a report like the funnel: counts a month of rows
             lambda r: f"/api/v1/cohorts/{c}/deliveries/stats?since={(now - timedelta(days=30)).isoformat()}"
                       f"&until={until.isoformat()}".replace("+", "%2B"), director),
            ("checkins history", LIST_TARGET_MS,
             lambda r: f"/api/v1/children/{r.choice(children)}/checkins", director),
            ("funnel", FUNNEL_TARGET_MS, lambda r: f"/api/v1/cohorts/{c}/reports/funnel", director),
        ]
        for name, target, make_path, headers in endpoints:
            phase = Phase(name, target)
            started = time.time()
            server0, client0 = process_cpu((api_proc or proc).pid) + (process_cpu(proc.pid) if api_proc else 0), own_cpu()
            await load(base, phase, make_path, headers, args.clients, args.seconds, args.client)
            phase.client_cpu = own_cpu() - client0
            phase.server_cpu = process_cpu((api_proc or proc).pid) + (process_cpu(proc.pid) if api_proc else 0) - server0
            phase.ticks, phase.tick_max = read_ticks(events, started, time.time() + 0.5)
            phases.append(phase)
            print(f"  {name}: {len(phase.latencies):,} requests, p99 {phase.pct(99):.0f} ms, CPU a request: "
                  f"server {phase.cpu_ms(phase.server_cpu):.1f} ms, client {phase.cpu_ms(phase.client_cpu):.1f} ms "
                  f"(load {os.getloadavg()[0]:.2f})", flush=True)

        # Closing cases one after another (each plans its follow-up check-in for the child).
        async with httpx.AsyncClient(base_url=base, headers=director, timeout=60) as http:
            for case_id in seeded.open_case_ids[:args.closes]:
                t = time.perf_counter()
                response = await http.post(f"/api/v1/cases/{case_id}/close", json={"outcome": "safe_now"})
                closes.append((time.perf_counter() - t) * 1000)
                close_statuses[response.status_code] += 1
        stop.set()
        await poller
    finally:
        for each in (api_proc, proc):
            if each is None:
                continue
            each.send_signal(signal.SIGINT)
            try:
                each.wait(timeout=20)
            except subprocess.TimeoutExpired:
                each.kill()
        if engine_name == "PostgreSQL" and not args.keep:
            await drop_database(url)
        if not args.keep:
            shutil.rmtree(tmp, ignore_errors=True)

    load_avg = os.getloadavg()
    print()
    print(f"bench-api on {engine_name}: {args.households:,} households, {args.clients} clients x {args.seconds:g} s "
          f"per endpoint, real HTTP ({args.client} client) to uvicorn ({args.workers} process{'es' if args.workers > 1 else ''}"
          f"{', asyncio loop and h11' if args.plain_server else ''}), "
          f"tick every {args.tick_seconds} s; "
          f"load average {load_avg[0]:.2f} {load_avg[1]:.2f} {load_avg[2]:.2f} on {os.cpu_count()} cores")
    print(f"{'endpoint':<26}{'requests':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}{'5xx':>6}  {'target':>8}"
          f"{'srv cpu':>9}{'cli cpu':>9}  ticks")
    ok = True
    for p in phases:
        server_errors = sum(n for s, n in p.statuses.items() if s >= 500) + sum(p.errors.values())
        bad = {s: n for s, n in p.statuses.items() if s != 200}
        skipped = sum(n for k, n in p.ticks.items() if not k.startswith("run"))
        good = p.pct(99) < p.target_ms and server_errors == 0 and not bad and skipped == 0 and p.ticks["run"] > 0
        ok &= good
        ticks = ", ".join(f"{n} {k}" for k, n in sorted(p.ticks.items())) or "none"
        print(f"{p.name:<26}{len(p.latencies):>9,}{p.pct(50):>9.0f}{p.pct(99):>9.0f}"
              f"{max(p.latencies, default=0):>9.0f}{server_errors:>6}  <{p.target_ms:>6}"
              f"{p.cpu_ms(p.server_cpu):>9.1f}{p.cpu_ms(p.client_cpu):>9.1f}  {ticks} "
              f"(longest {p.tick_max:.2f} s){'' if good else '  <-- MISSED'}"
              + (f" statuses {dict(bad)}" if bad else "") + (f" errors {dict(p.errors)}" if p.errors else ""))
    if closes:
        ordered = sorted(closes)
        close_ok = ordered[len(ordered) // 2] < CLOSE_TARGET_MS and set(close_statuses) == {200}
        ok &= close_ok
        print(f"case close (plans the follow-up): {len(closes)} closes, p50 {ordered[len(ordered) // 2]:.0f} ms, "
              f"max {ordered[-1]:.0f} ms over HTTP (target < {CLOSE_TARGET_MS} ms), statuses {dict(close_statuses)}"
              f"{'' if close_ok else '  <-- MISSED'}")
    print(f"/healthz once a second throughout: {dict(health)}")
    print("all targets met" if ok else "some targets missed")
    return 0 if ok else 1


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", help="a database URL (default: a fresh SQLite file); PostgreSQL names must contain 'bench'")
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=20.0, help="of load per endpoint")
    parser.add_argument("--tick-seconds", type=int, default=5, help="the tick's interval while measuring")
    parser.add_argument("--closes", type=int, default=20, help="cases to close, one after another")
    parser.add_argument("--quick", action="store_true", help="smoke run: 1,000 households, 3 s per endpoint")
    parser.add_argument("--keep", action="store_true", help="keep the database (and the temporary directory) afterwards")
    parser.add_argument("--workers", type=int, default=1,
                        help="API processes (`shouwang api --workers N`, PostgreSQL only); the tick runs beside them")
    parser.add_argument("--client", choices=("aiohttp", "httpx"), default="aiohttp",
                        help="the load's HTTP client (aiohttp: less of the shared CPU than httpx)")
    parser.add_argument("--plain-server", action="store_true",
                        help="serve on asyncio's own loop with h11 (to compare with uvloop and httptools)")
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--no-api", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--events", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.workers > 1 and not (args.db or "").startswith("postgresql"):
        parser.error("--workers needs --db postgresql+asyncpg://…: SQLite runs the API as one process")
    if args.quick:
        args.households, args.seconds, args.closes = min(args.households, 1000), min(args.seconds, 3.0), 5
        args.tick_seconds = min(args.tick_seconds, 1)
    return args


if __name__ == "__main__":
    arguments = parse()
    if arguments.serve:
        from cli.roles import run_loop

        try:
            main_coro = serve(arguments.db, arguments.port, arguments.tick_seconds, arguments.events,
                              api_here=not arguments.no_api, http="h11" if arguments.plain_server else "auto")
            # As `shouwang run` serves: uvloop, and httptools (uvicorn's "auto").
            asyncio.run(main_coro) if arguments.plain_server else run_loop(main_coro)
        except KeyboardInterrupt:
            pass
        sys.exit(0)
    sys.exit(asyncio.run(main(arguments)))
