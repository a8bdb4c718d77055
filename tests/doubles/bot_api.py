"""A local double of the Telegram Bot API that enforces Telegram's limits, served over real HTTP
on 127.0.0.1 (aiohttp), for tests and for `make bench-push`.

Limits, counted at arrival over a sliding one-second window:
- sends without `allow_paid_broadcast`: at most `free_rate` (30) per second;
- all sends (paid broadcast or not): at most `paid_rate` (1,000) per second;
- one chat: at most one message per `per_chat` second.
A send over a limit gets Telegram's answer — HTTP 429,
{"ok":false,"error_code":429,"description":"Too Many Requests: retry after N","parameters":{"retry_after":N}}
— and, like Telegram's flood control, every request of that kind (free, paid, or to that chat)
gets 429 until the retry_after has passed: a client that ignores it stays locked out.

In process:   double = BotAPIDouble(); base = await double.start(); ...; await double.stop()
As a process: python -m tests.doubles.bot_api --port 8081   (GET /stats, POST /reset)
"""
from __future__ import annotations

import argparse
import asyncio
import json
import math
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

SEND_METHODS = {"sendmessage", "sendphoto", "sendvoice", "senddocument", "sendvideo", "sendaudio"}
BOT_USER = {"id": 42, "is_bot": True, "first_name": "Shouwang", "username": "shouwang_test_bot"}


@dataclass
class Stats:
    requests: int = 0
    accepted: int = 0
    paid: int = 0  # accepted sends that carried allow_paid_broadcast
    rejected: Counter[str] = field(default_factory=Counter)  # 429s by limit: free, paid, chat
    per_chat: Counter[int] = field(default_factory=Counter)  # accepted sends per chat
    first_at: float | None = None  # wall-clock time of the first and last accepted send
    last_at: float | None = None
    watched: dict[int, list[float]] = field(default_factory=dict)  # chat → wall-clock arrival times
    rejected_at: list[float] = field(default_factory=list)  # wall-clock times of the 429s
    json_requests: int = 0  # requests whose parameters came as JSON (not as a form)
    peers: set[Any] = field(default_factory=set)  # client (host, port) pairs: connections opened

    def as_json(self) -> dict[str, Any]:
        return {
            "requests": self.requests, "accepted": self.accepted, "paid": self.paid,
            "rejected": dict(self.rejected), "too_many_requests": sum(self.rejected.values()),
            "chats": len(self.per_chat), "chats_more_than_once": sum(1 for c in self.per_chat.values() if c > 1),
            "first_at": self.first_at, "last_at": self.last_at,
            "watched": {str(k): v for k, v in self.watched.items()},
            "rejected_at": self.rejected_at, "json_requests": self.json_requests, "connections": len(self.peers),
        }


class _Window:
    """Arrival times within the last second, and a flood-control lock-out after a 429."""

    def __init__(self, limit: float) -> None:
        self.limit = limit
        self.times: deque[float] = deque()
        self.locked_until = 0.0

    def check(self, now: float) -> float:
        """0.0 if one more fits now, else the seconds to wait (and the lock-out starts)."""
        if now < self.locked_until:
            return self.locked_until - now
        while self.times and self.times[0] <= now - 1.0:
            self.times.popleft()
        if len(self.times) < self.limit:
            return 0.0
        wait = max(self.times[0] + 1.0 - now, 1e-3)
        return wait

    def lock(self, now: float, retry_after: int) -> None:
        self.locked_until = max(self.locked_until, now + retry_after)


async def _params(request: web.Request) -> dict[str, Any]:
    """A method's parameters, sent as a form (aiogram) or as JSON (Telegram takes both)."""
    if not request.body_exists:
        return {}
    if request.content_type == "application/json":  # as a form would carry them: strings
        return {k: v if isinstance(v, str) else json.dumps(v) for k, v in json.loads(await request.read()).items()}
    return dict(await request.post())


class BotAPIDouble:
    def __init__(
        self, *, free_rate: float = 30, paid_rate: float = 1000, per_chat: float = 1.0,
        monotonic: Callable[[], float] = time.monotonic, wall: Callable[[], float] = time.time,
        watch: tuple[int, ...] = (),
    ) -> None:
        self.free_rate, self.paid_rate, self.per_chat = free_rate, paid_rate, per_chat
        self._monotonic, self._wall = monotonic, wall
        self._watch = watch
        self.calls: list[tuple[str, dict[str, Any]]] = []  # method and parameters (in-process tests)
        self.record_calls = False
        self.reset()
        self._runner: web.AppRunner | None = None

    def reset(self, watch: tuple[int, ...] | None = None) -> None:
        if watch is not None:
            self._watch = watch
        self.stats = Stats(watched={c: [] for c in self._watch})
        self.free = _Window(self.free_rate)
        self.total = _Window(self.paid_rate)
        self.chat_last: dict[int, float] = {}
        self.chat_locked: dict[int, float] = {}
        self.message_id = 0
        self.calls.clear()
        self.failures: deque[tuple[int, dict[str, Any], float]] = deque()  # fail_next: status, body, delay

    # ------------------------------------------------------------ the limits

    def admit(self, chat_id: int, *, paid: bool) -> tuple[str, int] | None:
        """None when the send is accepted (and counted); else (limit, retry_after)."""
        now = self._monotonic()
        if now < self.chat_locked.get(chat_id, 0.0):
            return "chat", math.ceil(self.chat_locked[chat_id] - now)
        last = self.chat_last.get(chat_id)
        if last is not None and now - last < self.per_chat:
            retry = max(1, math.ceil(last + self.per_chat - now))
            self.chat_locked[chat_id] = now + retry
            return "chat", retry
        for name, window in (("paid", self.total),) if paid else (("free", self.free), ("paid", self.total)):
            wait = window.check(now)
            if wait > 0:
                retry = max(1, math.ceil(wait))
                window.lock(now, retry)
                return name, retry
        self.total.times.append(now)
        if not paid:
            self.free.times.append(now)
        self.chat_last[chat_id] = now
        return None

    def fail_next(self, status: int, description: str, *, retry_after: int | None = None, delay: float = 0.0) -> None:
        """The next send is answered `status` with Telegram's error body (after `delay` seconds:
        a stalled server, for timeouts) instead of going through the limits."""
        body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
        if retry_after is not None:
            body["parameters"] = {"retry_after": retry_after}
        self.failures.append((status, body, delay))

    # ------------------------------------------------------------ HTTP

    async def handle(self, request: web.Request) -> web.Response:
        method = request.match_info["method"].lower()
        params = await _params(request)
        self.stats.requests += 1
        self.stats.json_requests += request.content_type == "application/json"
        if request.transport is not None:
            self.stats.peers.add(request.transport.get_extra_info("peername"))
        if self.record_calls:
            self.calls.append((method, params))
        if method == "getme":
            return web.json_response({"ok": True, "result": BOT_USER})
        if method == "editmessagetext":
            result = {"message_id": int(params.get("message_id", 0)), "date": int(self._wall()),
                      "chat": {"id": int(params.get("chat_id", 0)), "type": "private"}, "text": "edited"}
            return web.json_response({"ok": True, "result": result})
        if method not in SEND_METHODS:
            return web.json_response({"ok": True, "result": True})
        if self.failures:
            status, body, delay = self.failures.popleft()
            if delay:
                await asyncio.sleep(delay)  # a stalled server (the client's timeout is what is tested)
            return web.json_response(body, status=status)
        chat_id = int(params["chat_id"])
        paid = str(params.get("allow_paid_broadcast", "")).lower() == "true"
        refused = self.admit(chat_id, paid=paid)
        if refused is not None:
            limit, retry = refused
            self.stats.rejected[limit] += 1
            self.stats.rejected_at.append(self._wall())
            return web.json_response(
                {"ok": False, "error_code": 429, "description": f"Too Many Requests: retry after {retry}",
                 "parameters": {"retry_after": retry}}, status=429)
        wall = self._wall()
        self.stats.accepted += 1
        self.stats.paid += paid
        self.stats.per_chat[chat_id] += 1
        self.stats.first_at = self.stats.first_at or wall
        self.stats.last_at = wall
        if chat_id in self.stats.watched:
            self.stats.watched[chat_id].append(wall)
        self.message_id += 1
        return web.json_response({"ok": True, "result": {
            "message_id": self.message_id, "date": int(wall), "chat": {"id": chat_id, "type": "private"}, "text": "ok"}})

    async def get_stats(self, request: web.Request) -> web.Response:
        return web.json_response(self.stats.as_json())

    async def post_reset(self, request: web.Request) -> web.Response:
        body = await request.json() if request.body_exists else {}
        self.reset(watch=tuple(body.get("watch", ())) or None)
        return web.json_response({"ok": True})

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post("/bot{token}/{method}", self.handle)
        app.router.add_get("/stats", self.get_stats)
        app.router.add_post("/reset", self.post_reset)
        return app

    async def start(self, host: str = "127.0.0.1", port: int = 0) -> str:
        """Serve on host:port (0: any free port); returns the base URL for TelegramAPIServer."""
        self._runner = web.AppRunner(self.app(), access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, host, port, backlog=1024)
        await site.start()
        bound = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        return f"http://{host}:{bound}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None


async def _serve(args: argparse.Namespace) -> None:
    double = BotAPIDouble(free_rate=args.free_rate, paid_rate=args.paid_rate, per_chat=args.per_chat)
    base = await double.start(port=args.port)
    print(json.dumps({"base": base}), flush=True)
    await asyncio.Event().wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--free-rate", type=float, default=30)
    parser.add_argument("--paid-rate", type=float, default=1000)
    parser.add_argument("--per-chat", type=float, default=1.0)
    args = parser.parse_args()
    try:
        import uvloop  # type: ignore[import-not-found]

        uvloop.install()
    except ImportError:
        pass
    asyncio.run(_serve(args))


if __name__ == "__main__":
    main()
