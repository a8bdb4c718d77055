"""Per-request cost of the staff API's hot endpoints at concurrency 1 (issue #16): what
`make bench-api` queues up at 16 clients, measured without the noise of a shared machine.

Seeds the same data as scripts/bench_api.py (10,000 households by default), then, in this
process over httpx's ASGITransport (no sockets, no uvicorn), sends N requests one after another
to each endpoint and prints, per endpoint: wall ms per request (p50 and mean), the process's CPU
ms per request (the app, the driver's thread and the in-process client together; "loop ms": the
event loop's thread alone) and SQL
statements per request, on uvloop as the server runs (`--asyncio` for asyncio's own loop).
`--profile NAME` prints cProfile's top functions for that endpoint.

    .venv/bin/python scripts/profile_api.py [--db URL] [--households N] [--requests N] [--keep DIR] [--profile NAME]

`--keep DIR` seeds a SQLite file in DIR once and reuses it on later runs (state in DIR/seed.json).
A PostgreSQL URL names a database this script drops and creates: its name must contain "bench".
"""
from __future__ import annotations

import argparse
import asyncio
import cProfile
import importlib.util
import json
import os
import pstats
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
from sqlalchemy import event  # noqa: E402

from core.clock import system_clock  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db import API_POOL, make_engine, make_sessionmaker  # noqa: E402

_spec = importlib.util.spec_from_file_location("bench_api", ROOT / "scripts" / "bench_api.py")
assert _spec and _spec.loader
bench = importlib.util.module_from_spec(_spec)
sys.modules["bench_api"] = bench
_spec.loader.exec_module(bench)


async def seeded(url: str, households: int, state: Path | None) -> dict[str, Any]:
    if state is not None and state.exists():
        return json.loads(state.read_text())
    if url.startswith("postgresql"):
        await bench.create_database(url)
    now = datetime.now(timezone.utc)
    t = time.perf_counter()
    s = await bench.seed(url, households, now)
    print(f"seeded {s.rows} in {time.perf_counter() - t:.1f} s", flush=True)
    data = {"now": now.isoformat(), "cohort_id": s.cohort_id, "director_token": s.director_token,
            "child_ids": s.child_ids, "open_case_ids": s.open_case_ids}
    if state is not None:
        state.write_text(json.dumps(data))
    return data


async def main(args: argparse.Namespace) -> None:
    keep = Path(args.keep) if args.keep else None
    if keep is not None:
        keep.mkdir(parents=True, exist_ok=True)
    url = args.db or f"sqlite+aiosqlite:///{(keep or Path(tempfile.mkdtemp(prefix='profile-api-'))) / 'bench.db'}"
    data = await seeded(url, args.households, keep / "seed.json" if keep is not None and not args.db else None)
    engine = make_engine(url, role=API_POOL)
    statements = [0]

    @event.listens_for(engine.sync_engine, "before_cursor_execute")
    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements[0] += 1
        if args.echo:
            print("   SQL:", " ".join(statement.split())[:args.echo])

    settings = Settings(_env_file=None, database_url=url, admin_token=bench.ADMIN_TOKEN)
    # The cached reports would be measured as cache hits: a fresh figure every time here.
    settings = settings.model_copy(update={"report_cache_seconds": 0}) if args.no_cache else settings
    from api.main import create_app

    app = create_app(settings=settings, sessionmaker=make_sessionmaker(engine), clock=system_clock)
    now = datetime.fromisoformat(data["now"])
    c, children = data["cohort_id"], data["child_ids"]
    director = {"Authorization": f"Bearer {data['director_token']}"}
    until = now + timedelta(days=1)
    import random

    rnd = random.Random(1)
    endpoints: list[tuple[str, Any, dict[str, str]]] = [
        ("alerts", lambda: f"/api/v1/alerts?cohort_id={c}", director),
        ("alerts newest", lambda: f"/api/v1/alerts?cohort_id={c}&status=resolved&order=newest"
                                  f"&offset={rnd.randint(0, 200)}", director),
        ("cases", lambda: f"/api/v1/cases?cohort_id={c}&offset={rnd.randint(0, 200)}", director),
        ("households", lambda: f"/api/v1/cohorts/{c}/households?offset={rnd.randint(0, max(0, args.households - 100))}",
         director),
        ("audit", lambda: "/api/v1/audit?limit=100", bench.ADMIN),
        ("deliveries stats", lambda: f"/api/v1/cohorts/{c}/deliveries/stats?since={(now - timedelta(days=30)).isoformat()}"
                                     f"&until={until.isoformat()}".replace("+", "%2B"), director),
        ("checkins history", lambda: f"/api/v1/children/{rnd.choice(children)}/checkins", director),
        ("funnel", lambda: f"/api/v1/cohorts/{c}/reports/funnel", director),
    ]
    only = set(args.only.split(",")) if args.only else None
    print(f"{'endpoint':<20}{'n':>5}{'p50 ms':>9}{'mean ms':>9}{'cpu ms':>9}{'loop ms':>9}{'stmts':>7}  status   (load {os.getloadavg()[0]:.1f})")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://profile") as http:
        for name, make_path, headers in endpoints:
            if only is not None and name not in only:
                continue
            for _ in range(5):  # warm: caches, prepared statements, the pool
                await http.get(make_path(), headers=headers)
            n = args.requests if "stats" not in name and name != "funnel" else max(10, args.requests // 10)
            walls, codes = [], set()
            profiler: Any = None
            if args.profile == name:
                if args.pyinstrument:
                    from pyinstrument import Profiler  # a measuring tool, installed by hand

                    profiler = Profiler(async_mode="enabled", interval=0.0005)
                    profiler.enable = profiler.start
                    profiler.disable = profiler.stop
                else:
                    profiler = cProfile.Profile()
            s0, cpus, mains = statements[0], [], []
            if profiler:
                profiler.enable()
            for _ in range(args.rounds):  # the best round's CPU: the machine is shared
                cpu0, main0 = time.process_time(), time.thread_time()
                for _ in range(n):
                    t = time.perf_counter()
                    response = await http.get(make_path(), headers=headers)
                    walls.append((time.perf_counter() - t) * 1000)
                    codes.add(response.status_code)
                cpus.append((time.process_time() - cpu0) * 1000 / n)
                mains.append((time.thread_time() - main0) * 1000 / n)
            if profiler:
                profiler.disable()
            cpu, main_cpu, n = min(cpus), mains[cpus.index(min(cpus))], n * args.rounds
            print(f"{name:<20}{n:>5}{statistics.median(walls):>9.1f}{statistics.mean(walls):>9.1f}{cpu:>9.1f}{main_cpu:>9.1f}"
                  f"{(statements[0] - s0) / n:>7.1f}  {sorted(codes)}", flush=True)
            if profiler and args.pyinstrument:
                print(profiler.output_text(unicode=False, show_all=False))
            elif profiler:
                pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
        if args.closes and (only is None or "close" in only):
            walls, cpus, stmts = [], [], 0
            cases = data["open_case_ids"]
            profiler = cProfile.Profile() if args.profile == "close" else None
            for case_id in cases:
                if len(walls) >= args.closes:
                    break
                s0, cpu0, t = statements[0], time.process_time(), time.perf_counter()
                if profiler:
                    profiler.enable()
                response = await http.post(f"/api/v1/cases/{case_id}/close", json={"outcome": "safe_now"},
                                           headers=director)
                if profiler:
                    profiler.disable()
                if response.status_code == 409:  # closed by an earlier run on a kept database
                    continue
                walls.append((time.perf_counter() - t) * 1000)
                cpus.append((time.process_time() - cpu0) * 1000)
                stmts += statements[0] - s0
            if walls:  # statements and CPU of the closes that closed (not of the 409s skipped)
                print(f"{'case close':<20}{len(walls):>5}{statistics.median(walls):>9.1f}{statistics.mean(walls):>9.1f}"
                      f"{statistics.median(cpus):>9.1f}{stmts / len(walls):>7.1f}")
            if profiler:
                pstats.Stats(profiler).sort_stats(args.sort).print_stats(args.top)
    await engine.dispose()


def parse() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db")
    parser.add_argument("--households", type=int, default=10_000)
    parser.add_argument("--requests", type=int, default=100, help="per round")
    parser.add_argument("--rounds", type=int, default=3, help="CPU is the best round's")
    parser.add_argument("--keep", help="a directory to seed a SQLite file in once and reuse")
    parser.add_argument("--only", help="comma-separated endpoint names (and 'close')")
    parser.add_argument("--closes", type=int, default=10)
    parser.add_argument("--no-cache", action="store_true", help="reports recomputed on every request")
    parser.add_argument("--profile", help="an endpoint name to run under cProfile")
    parser.add_argument("--sort", default="cumulative")
    parser.add_argument("--pyinstrument", action="store_true", help="profile with pyinstrument (pip install it)")
    parser.add_argument("--echo", type=int, default=0, help="print each statement's first N characters")
    parser.add_argument("--top", type=int, default=40)
    parser.add_argument("--asyncio", action="store_true", help="asyncio's own loop instead of uvloop (as served)")
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse()
    if arguments.asyncio:
        asyncio.run(main(arguments))
    else:
        from cli.roles import run_loop

        run_loop(main(arguments))  # the loop the server runs on
