"""`shouwang run` on a fresh directory: migrates, loads content, prints the admin token once,
says the bot is off without a token, serves the API; stops cleanly on Ctrl+C."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

ROOT = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(tmp_path: Path, port: int) -> subprocess.Popen[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
    env.update(SHOUWANG_VAR_DIR=str(tmp_path / "var"), SHOUWANG_PORT=str(port),
               SHOUWANG_DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'var' / 'shouwang.db'}")
    return subprocess.Popen([sys.executable, "-m", "cli.main", "run"], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)


def wait_until_serving(port: int, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"shouwang run exited early:\n{proc.stdout.read() if proc.stdout else ''}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)  # waiting for another process to bind its port
    pytest.fail("shouwang run did not start serving within 60 s")


def stop(proc: subprocess.Popen[str]) -> str:
    proc.send_signal(signal.SIGINT)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out
    return out


def test_run_on_a_fresh_machine(tmp_path: Path) -> None:
    port = free_port()
    proc = start(tmp_path, port)
    try:
        wait_until_serving(port, proc)
        token = (tmp_path / "var" / "admin_token").read_text().strip()
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["role"] == "admin"
        docs = httpx.get(f"http://127.0.0.1:{port}/docs")
        assert docs.status_code == 200
    finally:
        out = stop(proc)
    assert "Telegram bot: OFF" in out and "SHOUWANG_TELEGRAM_TOKEN" in out
    assert token in out  # shown once…
    assert oct((tmp_path / "var" / "admin_token").stat().st_mode & 0o777) == "0o600"
    assert f"http://127.0.0.1:{port}/docs" in out

    proc = start(tmp_path, port)  # …and not again: the second start says where it is kept
    try:
        wait_until_serving(port, proc)
    finally:
        out = stop(proc)
    assert token not in out and "admin API token: in" in out
