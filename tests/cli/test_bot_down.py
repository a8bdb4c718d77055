"""`shouwang run` with a bot token while the Bot API cannot be reached, then refuses the token,
then comes back: the API and /healthz keep serving throughout (`bot: down` with the reason), a
queued outbox row waits without failing, and goes out once a Bot API double answers."""
from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs

import httpx
import pytest
from sqlalchemy import select

from core.db import make_engine, make_sessionmaker
from core.delivery.outbox import LANE_URGENT, enqueue
from core.models import Delivery
from tests.cli.test_run import ROOT, free_port, stop

TOKEN = "123456:TEST-TOKEN"
CHAT = 777


class FakeBotAPI(ThreadingHTTPServer):
    """A Bot API double on 127.0.0.1: `refuse_token` answers 401 to everything, as Telegram does
    for a wrong token; otherwise getMe, long polling with no updates, and sendMessage."""

    daemon_threads = True

    def __init__(self, port: int) -> None:
        super().__init__(("127.0.0.1", port), _Handler)
        self.refuse_token = True
        self.sent: list[dict[str, Any]] = []


class _Handler(BaseHTTPRequestHandler):
    server: FakeBotAPI

    def log_message(self, *args: object) -> None:
        pass

    def do_POST(self) -> None:  # noqa: N802
        method = self.path.rsplit("/", 1)[-1].lower()
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        params = {k: v[0] for k, v in parse_qs(body).items()}
        if self.server.refuse_token:
            return self._reply(401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        if method == "getme":
            return self._reply(200, {"ok": True, "result": {"id": 42, "is_bot": True, "first_name": "Shouwang",
                                                            "username": "shouwang_test_bot"}})
        if method == "getupdates":
            time.sleep(0.2)  # long polling: hold a moment, then "nothing new"
            return self._reply(200, {"ok": True, "result": []})
        if method == "sendmessage":
            self.server.sent.append(params)
            return self._reply(200, {"ok": True, "result": {
                "message_id": len(self.server.sent), "date": 0,
                "chat": {"id": int(params["chat_id"]), "type": "private"}, "text": params.get("text", "")}})
        return self._reply(200, {"ok": True, "result": True})

    def _reply(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)


def _wait_until_serving(port: int, proc: subprocess.Popen[str], log_path: Path) -> None:
    """Importing aiogram alone takes seconds (tens on a loaded machine): a generous bound."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"shouwang run exited early:\n{log_path.read_text()}")
        try:
            httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
            return
        except httpx.TransportError:
            time.sleep(0.1)  # waiting for another process to bind its port
    pytest.fail("shouwang run did not start serving within 180 s")


def _poll(what: str, probe: Any, timeout: float = 60.0) -> Any:
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = probe()
        if last:
            return last
        time.sleep(0.1)  # another process is working; nothing to inject
    pytest.fail(f"{what} did not happen within {timeout} s (last: {last!r})")


def _health(port: int) -> dict[str, Any]:
    return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).json()


async def _queue_row(url: str) -> None:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session, session.begin():
            now = datetime.now(timezone.utc)
            await enqueue(session, address=f"telegram:{CHAT}", kind="campaign", ref="campaign:1", cycle="1", lane=LANE_URGENT,
                          due_at=now, now=now, payload={"texts": {"zh-Hans": "你好"}, "locale": "zh-Hans"})
    finally:
        await engine.dispose()


async def _row(url: str) -> Delivery | None:
    engine = make_engine(url)
    try:
        async with make_sessionmaker(engine)() as session:
            return await session.scalar(select(Delivery).where(Delivery.address == f"telegram:{CHAT}"))
    finally:
        await engine.dispose()


def test_run_keeps_serving_while_the_bot_api_is_down(tmp_path: Path) -> None:
    port, bot_port = free_port(), free_port()
    url = f"sqlite+aiosqlite:///{tmp_path / 'var' / 'shouwang.db'}"
    env = {k: v for k, v in os.environ.items() if not k.startswith("SHOUWANG_")}
    env.update(SHOUWANG_VAR_DIR=str(tmp_path / "var"), SHOUWANG_PORT=str(port), SHOUWANG_DATABASE_URL=url,
               SHOUWANG_TELEGRAM_TOKEN=TOKEN, SHOUWANG_TELEGRAM_API_BASE=f"http://127.0.0.1:{bot_port}",
               SHOUWANG_BOT_RETRY_MIN_SECONDS="0.2", SHOUWANG_BOT_RETRY_MAX_SECONDS="0.5")
    log_path = tmp_path / "run.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([sys.executable, "-m", "cli.main", "run"], cwd=ROOT, env=env, text=True,
                                stdout=log, stderr=subprocess.STDOUT)
    fake: FakeBotAPI | None = None
    try:
        _wait_until_serving(port, proc, log_path)
        # Nothing listens on the Bot API port: the bot is down, everything else serves.
        down = _poll("bot: down (unreachable)", lambda: (h := _health(port))["bot"] == "down"
                     and "cannot reach" in (h["bot_reason"] or "") and h)
        assert down["database"] == "ok" and down["status"] == "degraded"
        token = (tmp_path / "var" / "admin_token").read_text().strip()
        me = httpx.get(f"http://127.0.0.1:{port}/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        asyncio.run(_queue_row(url))

        # A Bot API answers, but refuses the token: a clear reason, still down, the row waits.
        fake = FakeBotAPI(bot_port)
        threading.Thread(target=fake.serve_forever, daemon=True).start()
        _poll("bot: down (token refused)", lambda: "401" in (_health(port)["bot_reason"] or ""))
        time.sleep(1.0)  # several sender rounds while down (the process is real; there is no clock to move)
        # A sender round may hold the row for a moment (claimed: "sending", one attempt counted)
        # before handing it back unspent; between rounds it waits as it was queued.
        _poll("the row waits, no attempt spent", lambda: (row := asyncio.run(_row(url))) is not None
              and row.state == "pending" and row.attempts == 0, timeout=10.0)
        assert not fake.sent

        # The token is accepted again: the bot is up and the queued row goes out.
        fake.refuse_token = False
        _poll("bot: up", lambda: _health(port)["bot"] == "up")
        sent = _poll("the queued row sent", lambda: [p for p in fake.sent if int(p["chat_id"]) == CHAT])
        assert sent[0]["text"] == "你好"
        assert _poll("row marked sent", lambda: (r := asyncio.run(_row(url))) is not None and r.state == "sent")
    finally:
        out = stop(proc) if proc.poll() is None else ""
        if fake is not None:
            fake.shutdown()
            fake.server_close()
    out = log_path.read_text()
    assert "Traceback" not in out, out
    assert "Telegram bot down: the Bot API refused the token (401 Unauthorized): check SHOUWANG_TELEGRAM_TOKEN" in out
    assert "Telegram bot down: cannot reach the Bot API" in out
