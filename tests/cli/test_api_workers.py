"""`shouwang api --workers N`: the import-string factory each uvicorn worker calls builds a
working app from the environment on its share of the connections; SQLite is refused with a clear
message; on PostgreSQL, N real worker processes serve the API."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from cli.asgi import api_pools, build_app
from cli.main import main
from core.config import Settings
from core.db import API_POOL, HEALTH_POOL, make_engine, make_sessionmaker, split_pool
from core.models import Cohort
from tests.cli.test_run import free_port

ROOT = Path(__file__).resolve().parents[2]
ADMIN = {"Authorization": "Bearer factory-admin-token"}


def test_pools_are_split_so_n_workers_fit_one_budget() -> None:
    one = split_pool(API_POOL, 1, total=20)
    assert (one.pool_size, one.max_overflow) == (10, 10)  # one process: as before
    for workers in (2, 3, 4, 8):
        each = split_pool(API_POOL, workers, total=20)
        assert workers * (each.pool_size + each.max_overflow) <= max(20, 2 * workers)
        assert each.pool_size >= 1 and each.statement_timeout == API_POOL.statement_timeout
    tiny = split_pool(API_POOL, 16, total=20)  # never fewer than two connections a worker
    assert tiny.pool_size + tiny.max_overflow == 2
    settings = Settings(_env_file=None, database_url="postgresql+asyncpg://x/y", api_workers=4, api_db_connections=40)
    api, health = api_pools(settings)
    assert api.pool_size + api.max_overflow == 10 and health.pool_size + health.max_overflow == 2
    assert split_pool(HEALTH_POOL, 1) is HEALTH_POOL


async def test_the_factory_builds_a_working_app_from_the_environment(
    db_url: str, engine: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # `engine`: the shared PostgreSQL test database starts empty (the fixture truncates it), so the
    # cohort read back below is the one this test wrote, whatever ran before it on this worker.
    monkeypatch.setenv("SHOUWANG_DATABASE_URL", db_url)
    monkeypatch.setenv("SHOUWANG_VAR_DIR", str(tmp_path / "var"))
    monkeypatch.setenv("SHOUWANG_ADMIN_TOKEN", "factory-admin-token")
    monkeypatch.setenv("SHOUWANG_API_WORKERS", "2")
    app = build_app()
    assert app.state.settings.api_workers == 2
    assert app.state.sessionmaker.kw["bind"].pool.size() == split_pool(API_POOL, 2, total=20).pool_size \
        or db_url.startswith("sqlite")
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://worker") as client:
            health = await client.get("/healthz")
            assert health.status_code == 200 and health.json()["database"] == "ok"
            created = await client.post("/api/v1/cohorts", json={"name": "Factory village"}, headers=ADMIN)
            assert created.status_code == 201, created.text
            assert (await client.get("/api/v1/cohorts", headers=ADMIN)).json()[0]["name"] == "Factory village"
            assert (await client.get("/m/")).status_code in (200, 303, 307)  # the web pages are mounted
    # The write went to the database named by the environment.
    engine = make_engine(db_url)
    try:
        async with make_sessionmaker(engine)() as session:
            assert await session.scalar(select(Cohort.name)) == "Factory village"
    finally:
        await engine.dispose()


def test_the_factory_uses_the_admin_token_kept_under_var(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    var = tmp_path / "var"
    var.mkdir()
    (var / "admin_token").write_text("sw_admin_kept\n")
    monkeypatch.setenv("SHOUWANG_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'x.db'}")
    monkeypatch.setenv("SHOUWANG_VAR_DIR", str(var))
    assert build_app().state.settings.admin_token == "sw_admin_kept"


@pytest.mark.parametrize("how", ["flag", "setting"])
def test_several_workers_on_sqlite_are_refused_with_the_reason(
    how: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SHOUWANG_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'var' / 'x.db'}")
    monkeypatch.setenv("SHOUWANG_VAR_DIR", str(tmp_path / "var"))
    if how == "setting":
        monkeypatch.setenv("SHOUWANG_API_WORKERS", "3")
    assert main(["api", "--workers", "3"] if how == "flag" else ["api"]) == 2
    err = capsys.readouterr().err
    assert "SQLite has a single writer" in err and "one process" in err and "PostgreSQL" in err
    assert not (tmp_path / "var" / "x.db").exists()  # refused before touching anything


@pytest.mark.parametrize("value", ["0", "65", "two"])
def test_a_bad_worker_count_is_refused(value: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        main(["api", "--workers", value])
    assert exit_.value.code == 2 and "--workers" in capsys.readouterr().err


def _children(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                status = (entry / "status").read_text()
            except OSError:
                continue
            if f"\nPPid:\t{pid}\n" in status:
                found.append(int(entry.name))
    return found


def test_two_worker_processes_serve_the_api_on_postgresql(request: pytest.FixtureRequest, tmp_path: Path) -> None:
    url = request.getfixturevalue("pg_migrated")  # skips without SHOUWANG_TEST_DATABASE_URL
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
    env.update(SHOUWANG_VAR_DIR=str(tmp_path / "var"), SHOUWANG_PORT=str(port), SHOUWANG_DATABASE_URL=url)
    proc = subprocess.Popen([sys.executable, "-m", "cli.main", "api", "--workers", "2"], cwd=ROOT, env=env,
                            text=True, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 90
        token = None
        while time.monotonic() < deadline:
            assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200 \
                        and len(_children(proc.pid)) >= 2:
                    token = (tmp_path / "var" / "admin_token").read_text().strip()
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        assert token, "shouwang api --workers 2 did not start serving within 90 s"
        workers = [pid for pid in _children(proc.pid)
                   if "multiprocessing" in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                   and "resource_tracker" not in Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")]
        assert len(workers) == 2, workers
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", headers={"Authorization": f"Bearer {token}"}) as http:
            for _ in range(20):  # both workers answer (the kernel spreads connections between them)
                assert http.get("/api/v1/me", headers={"Connection": "close"}).json()["role"] == "admin"
    finally:
        proc.send_signal(signal.SIGINT)
        out, _ = proc.communicate(timeout=30)
    assert "2 worker processes" in out and "in all" in out
