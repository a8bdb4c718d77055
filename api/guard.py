"""The API's outer guard, a pure ASGI middleware: what every request goes through before a route
sees it, in this order.

1. An address that sent too many bad tokens lately is refused (429 with Retry-After).
2. Text in the path and the query string must not hold control characters (422, field named).
3. A request with a body must carry a valid token *before* the body is read (401): an
   unauthenticated client cannot make the server read, buffer or parse 100 MB.
4. The body may be at most `max_body_bytes`: a larger Content-Length is refused at once, and a
   streamed body is counted chunk by chunk and refused as soon as it passes the limit (413).
   A path in `body_limits` (a guardian's voice upload) has its own limit instead, set above what
   the page accepts, so the page itself can say "too long" in the guardian's language.
5. Every string in a JSON body (keys too) is checked for control characters (422, field named),
   so no text field anywhere can carry a NUL into the database — one place for every route.
6. An exception nobody handled becomes a 500 JSON logged with its type and route only (never
   its message, which may hold SQL parameters or personal data).
7. One access-log line per request on "shouwang.access": method, route template, status,
   duration and staff id — never the query string or the body.
"""
from __future__ import annotations

import asyncio
import json
import logging
import time
import traceback
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime, timezone
from typing import Any
from urllib.parse import parse_qsl

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.inputs import control_char_problem
from core.security import same_secret
from core.throttle import AuthThrottle

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

access_log = logging.getLogger("shouwang.access")
log = logging.getLogger(__name__)

API_PREFIX = "/api/v1/"
_BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
_MAX_PROBLEMS = 20


class SharedAuthThrottle(AuthThrottle):
    """The same rule, counted in the database so that several API processes share it
    (core.throttle; `shouwang api --workers N` on PostgreSQL). Each failure is written, and its
    count comes back in the same transaction, so N processes allow `limit` failures in all, not
    N × `limit`. Who is blocked is refreshed from the database at most once every
    `refresh_seconds` per process, so a good request costs no extra round trip and an address
    blocked through one process is refused by the others within that time.

    On SQLite (one API process) or before the database is configured it counts in memory, as
    AuthThrottle. A database error never fails the request: the failure is counted in memory."""

    def __init__(self, *, limit: int, window_seconds: int,
                 sessionmaker: Callable[[], async_sessionmaker[AsyncSession] | None],
                 refresh_seconds: float = 1.0, max_addresses: int = 10_000) -> None:
        super().__init__(limit=limit, window_seconds=window_seconds, max_addresses=max_addresses)
        self._sessionmaker = sessionmaker
        self.refresh_seconds = refresh_seconds
        self._blocked: dict[str, float] = {}  # address → blocked until (unix time)
        self._refreshed_at: float | None = None
        self._refreshing = asyncio.Lock()

    def _shared(self) -> async_sessionmaker[AsyncSession] | None:
        maker = self._sessionmaker()
        if maker is None or maker.kw["bind"].dialect.name == "sqlite":
            return None
        return maker

    async def check(self, address: str, now: float) -> int | None:
        maker = self._shared()
        if maker is None:
            return self.retry_after(address, now)
        stale = self._refreshed_at is None or not 0 <= now - self._refreshed_at < self.refresh_seconds
        if stale and not self._refreshing.locked():  # one refresh at a time; the others use what is known
            async with self._refreshing:
                await self._refresh(maker, now)
        until = self._blocked.get(address)
        if until is None or until <= now:
            return None
        return max(1, int(until - now + 0.999))

    async def _refresh(self, maker: async_sessionmaker[AsyncSession], now: float) -> None:
        from core.throttle import blocked_addresses

        try:
            async with maker() as session:
                blocked = await blocked_addresses(session, now=_as_datetime(now), limit=self.limit,
                                                  window=self.window)
        except Exception as exc:  # noqa: BLE001 — the throttle must never fail a request
            log.warning("could not read the shared sign-in failures (%s)", type(exc).__name__)
            return
        known = {a: until for a, until in self._blocked.items() if until > now}
        known.update({address: now + seconds for address, seconds in blocked.items()})
        self._blocked = dict(list(known.items())[-self.max_addresses:])
        self._refreshed_at = now

    async def record(self, address: str, now: float) -> bool:
        from core.throttle import record_failure

        maker = self._shared()
        if maker is None:
            return self.fail(address, now)
        try:
            async with maker() as session, session.begin():
                count, left = await record_failure(session, address=address, now=_as_datetime(now),
                                                   limit=self.limit, window=self.window)
        except Exception as exc:  # noqa: BLE001
            log.warning("could not share a failed sign-in (%s); counting it in this process", type(exc).__name__)
            return self.fail(address, now)
        if left is not None:
            self._blocked[address] = now + left
        return count == self.limit


def _as_datetime(now: float) -> datetime:
    return datetime.fromtimestamp(now, timezone.utc)


def client_address(scope: Scope) -> str:
    client = scope.get("client")
    return str(client[0]) if client else "unknown"


def route_template(scope: Scope) -> str:
    """The matched route's template (/api/v1/cases/{case_id}); never the concrete path, which
    may carry ids into a log, or the query string."""
    route = scope.get("route")
    template = getattr(route, "path", None)
    if not isinstance(template, str):
        return "(unmatched)"
    # The route object knows its own path, without the prefix of the router it was included
    # under (/api/v1): put back the literal prefix the concrete path starts with.
    path, regex = scope.get("path", ""), getattr(route, "path_regex", None)
    if regex is not None and not regex.fullmatch(path):
        for index in range(1, len(path)):
            if path[index] == "/" and regex.fullmatch(path[index:]):
                return path[:index] + template
    return template


def _json_response(status: int, code: str, message: str, *, headers: dict[str, str] | None = None,
                   **extra: Any) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    body = json.dumps({"error": {"code": code, "message": message, **extra}}, ensure_ascii=False).encode()
    raw = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    raw += [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()]
    return status, raw, body


def _text_problems(value: Any, where: str, found: list[dict[str, str]]) -> None:
    """Every string (and object key) under `value` that holds a control character."""
    if len(found) >= _MAX_PROBLEMS:
        return
    if isinstance(value, str):
        reason = control_char_problem(value)
        if reason:
            found.append({"field": where, "reason": reason})
    elif isinstance(value, dict):
        for key, item in value.items():
            reason = control_char_problem(key)
            if reason:
                found.append({"field": where, "reason": f"a key {reason}"})
            _text_problems(item, f"{where}.{key}" if reason is None else where, found)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _text_problems(item, f"{where}.{index}", found)


def _problem_message(problems: list[dict[str, str]]) -> str:
    return "; ".join(f"{p['field']}: {p['reason']}" for p in problems)


class RequestGuard:
    """See the module docstring. `authenticate(token) -> staff id | None` checks a token against
    the database; `clock` is the app's clock (tests move it instead of sleeping)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        body_limits: dict[str, int] | None = None,
        throttle: AuthThrottle,
        authenticate: Callable[[str], Awaitable[int | None]],
        admin_token: str | None,
        clock: Callable[[], datetime],
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.body_limits = body_limits or {}
        self.throttle = throttle
        self.authenticate = authenticate
        self.admin_token = admin_token
        self.clock = clock

    def _now(self) -> float:
        return self.clock().timestamp()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        state: dict[str, Any] = {"status": 500, "started": False}

        async def send_tracked(message: Message) -> None:
            if message["type"] == "http.response.start":
                state["status"] = message["status"]
                state["started"] = True
            await send(message)

        try:
            refusal = await self._check(scope, receive)
            if isinstance(refusal, tuple):
                await self._respond(send_tracked, *refusal)
            else:
                await self.app(scope, refusal, send_tracked)
        except Exception as exc:  # noqa: BLE001 — the last line of defence: answer, log safely
            frames = "".join(traceback.format_tb(exc.__traceback__))
            # Type and route only: the message of a database error quotes the statement and
            # may quote values; the frames show code, not data.
            log.error("unhandled %s on %s %s\n%s", type(exc).__name__, scope.get("method"),
                      route_template(scope), frames)
            if not state["started"]:
                await self._respond(send_tracked, *_json_response(
                    500, "internal_error", "something went wrong on our side; it has been logged"))
        finally:
            staff_id = (scope.get("state") or {}).get("staff_id")
            access_log.info(
                "%s %s %s %.1fms staff=%s", scope.get("method"), route_template(scope), state["status"],
                (time.perf_counter() - started) * 1000, staff_id if staff_id is not None else "-",
            )

    @staticmethod
    async def _respond(send: Send, status: int, headers: list[tuple[bytes, bytes]], body: bytes) -> None:
        await send({"type": "http.response.start", "status": status, "headers": headers})
        await send({"type": "http.response.body", "body": body})

    async def _check(self, scope: Scope, receive: Receive) -> tuple[int, list[tuple[bytes, bytes]], bytes] | Receive:
        """A response to send instead of the app's, or the `receive` the app should read."""
        path: str = scope.get("path", "")
        is_api = path.startswith(API_PREFIX)
        address = client_address(scope)

        if is_api:
            wait = await self.throttle.check(address, self._now())
            if wait is not None:
                return _json_response(429, "too_many_requests", "too many failed sign-ins from this address; "
                                      "try again later", headers={"Retry-After": str(wait)})

        problems = self._url_problems(scope)
        if problems:
            return _json_response(422, "invalid", _problem_message(problems), fields=problems)

        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
        declared = headers.get("content-length")
        has_body = (declared not in (None, "0")) or "transfer-encoding" in headers or (
            declared is None and scope.get("method") in _BODY_METHODS)

        if is_api and has_body:
            staff_id = await self._authenticated(headers.get("authorization", ""))
            if staff_id is None:
                if await self.throttle.record(address, self._now()):
                    log.warning("%d failed sign-ins from %s within %ds; refusing it for a while",
                                self.throttle.limit, address, int(self.throttle.window))
                return _json_response(401, "unauthorized", "send a valid API token: Authorization: Bearer <token>",
                                      headers={"WWW-Authenticate": "Bearer"})
            if staff_id > 0:
                scope.setdefault("state", {})["staff_id"] = staff_id

        limit = self.body_limits.get(path, self.max_body_bytes)
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                return _json_response(400, "bad_request", "Content-Length is not a number")
            if length > limit:
                return self._too_large(limit)
        if not has_body:
            return receive

        body = bytearray()
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return _json_response(400, "bad_request", "the client went away")
            body += message.get("body", b"")
            if len(body) > limit:
                return self._too_large(limit)
            if not message.get("more_body", False):
                break

        problems = self._body_problems(bytes(body))
        if problems:
            return _json_response(422, "invalid", _problem_message(problems), fields=problems)
        return _replay(bytes(body), receive)

    @staticmethod
    def _too_large(limit: int) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        return _json_response(413, "too_large", f"the request body is larger than {limit} bytes",
                              field="body")

    async def _authenticated(self, authorization: str) -> int | None:
        """The staff id behind the Bearer token (0 for the bootstrap admin token, whose staff row
        the route creates), or None."""
        scheme, _, token = authorization.partition(" ")
        token = token.strip()
        if scheme.lower() != "bearer" or not token or len(token) > 512:
            return None
        if self.admin_token and same_secret(token, self.admin_token):
            return 0
        return await self.authenticate(token)

    @staticmethod
    def _url_problems(scope: Scope) -> list[dict[str, str]]:
        problems: list[dict[str, str]] = []
        reason = control_char_problem(scope.get("path", ""))
        if reason:
            problems.append({"field": "path", "reason": reason})
        query = scope.get("query_string", b"").decode("latin-1")
        if query:
            try:
                pairs = parse_qsl(query, keep_blank_values=True, encoding="utf-8", errors="strict")
            except UnicodeDecodeError:
                return [{"field": "query", "reason": "is not valid UTF-8"}]
            for name, value in pairs:
                reason = control_char_problem(name) or control_char_problem(value)
                if reason:
                    problems.append({"field": f"query.{name}" if not control_char_problem(name) else "query",
                                     "reason": reason})
        return problems[:_MAX_PROBLEMS]

    @staticmethod
    def _body_problems(body: bytes) -> list[dict[str, str]]:
        if not body:
            return []
        try:
            document = json.loads(body)
        except RecursionError:
            return [{"field": "body", "reason": "is nested too deeply"}]
        except ValueError:
            return []  # not JSON: the route's own parsing answers (422 or 400)
        found: list[dict[str, str]] = []
        _text_problems(document, "body", found)
        return found


def _replay(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app the body already read, then whatever follows (disconnect)."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay
