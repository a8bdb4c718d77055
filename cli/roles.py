"""The process roles. `run` puts all of them on one event loop; `api`, `bot` and `worker` run
one each (for PostgreSQL at scale: any number of api and worker processes, exactly one polling
bot)."""
from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import sys
from collections.abc import Coroutine, Iterator
from typing import Any, TypeVar

import uvicorn

from core.clock import system_clock
from core.config import DEFAULT_TELEGRAM_API_BASE, Settings
from core.db import API_POOL, HEALTH_POOL, WORKER_POOL, make_engine, make_sessionmaker, split_pool
from core.health import BotStatus

log = logging.getLogger("shouwang")

BOT_OFF_HELP = """\
  Telegram bot: OFF (SHOUWANG_TELEGRAM_TOKEN is not set).
    To turn it on, create a bot with @BotFather, then:
      export SHOUWANG_TELEGRAM_TOKEN=123456:ABC...   # the token BotFather gives you
      make run
    A self-hosted Bot API server (telegram-bot-api) can be used with SHOUWANG_TELEGRAM_API_BASE."""


def build_scheduler(sessionmaker, settings: Settings):  # type: ignore[no-untyped-def]
    """APScheduler runs only the periodic tick; what is due lives in the database."""
    from datetime import datetime, timezone

    from apscheduler.schedulers.asyncio import AsyncIOScheduler

    from core.tick import run_tick

    scheduler = AsyncIOScheduler(timezone="UTC")
    scheduler.add_job(
        run_tick,
        "interval",
        seconds=settings.tick_seconds,
        kwargs={"sessionmaker": sessionmaker, "settings": settings, "clock": system_clock},
        id="tick",
        max_instances=1,
        coalesce=True,
        next_run_time=datetime.now(timezone.utc),
    )
    return scheduler


def build_sender(settings: Settings, sessionmaker, messenger):  # type: ignore[no-untyped-def]
    """The outbox sender as production runs it: on PostgreSQL the rate, its adaptation and the
    429 pause are shared by every worker through the database; paid broadcast has its own budget."""
    from core.delivery.sender import Sender
    from core.flows.delivery import sender_config, sender_hooks

    config = sender_config(settings)
    bucket = paid = None
    if not settings.is_sqlite:
        from core.delivery.budget import PAID_BUDGET, SharedTokenBucket

        bucket = SharedTokenBucket(sessionmaker, config.rate, clock=system_clock, window_guard=config.window_guard,
                                   aimd=config.free_aimd())
        if config.paid_broadcast:
            paid = SharedTokenBucket(sessionmaker, config.paid_rate, clock=system_clock, name=PAID_BUDGET,
                                     window_guard=config.window_guard, reserve=0.0)
    return Sender(sessionmaker, messenger, clock=system_clock, bucket=bucket, paid_bucket=paid, config=config,
                  hooks=sender_hooks())


def freeze_startup_objects() -> None:
    """What start-up built (aiogram's hundreds of pydantic model classes, SQLAlchemy's mappers,
    the content, the compiled catalogs) lives as long as the process: move it out of the garbage
    collector's sight, so that the full collections the sender's per-message objects trigger do
    not walk all of it again each time. At 1,000 msg/s that walk was about a third of a sender
    process's CPU (0.87 → 0.61 ms per message, scripts/bench_push.py --senders, issue #16).
    Objects made later are collected as before; only the start-up heap is never freed, which it
    never would have been."""
    gc.collect()
    gc.freeze()


def channel_messengers(settings: Settings, sessionmaker) -> dict:  # type: ignore[no-untyped-def]
    """The worker's adapters besides Telegram's, one per channel: rows to sms:+86… addresses go
    out as the approved notice templates when an SMS account is configured (the receipt route
    lives with the API); none otherwise."""
    from channels.sms.messenger import SmsMessenger
    from channels.sms.wiring import build_sms

    messengers: dict = {}
    worker_sms = build_sms(settings, sessionmaker)
    if worker_sms is not None:
        messengers["sms"] = SmsMessenger(worker_sms)
    return messengers


T = TypeVar("T")


def run_loop(main: Coroutine[Any, Any, T]) -> T:
    """asyncio.run, on uvloop's event loop where it is installed (not on Windows): the API
    (with uvicorn's httptools parser, which uvicorn picks up by itself), the bot and the tick
    spend less CPU per request and per message on it. `make bench-api` serves the same way."""
    try:
        import uvloop
    except ImportError:  # pragma: no cover — a platform without uvloop
        return asyncio.run(main)
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        return runner.run(main)


async def run_all(settings: Settings, *, api: bool, bot: bool, worker: bool) -> int:
    from cli.bootstrap import ensure_var_dir, prepare_database, resolve_admin_token

    ensure_var_dir(settings)
    admin_token, generated = resolve_admin_token(settings)
    # One engine (one pool) per role, so no role can starve another (core.db, issue #16): the
    # API and the bot's handlers on API_POOL; the tick and the sender on WORKER_POOL, which no
    # request can exhaust; /healthz on HEALTH_POOL. Migrations run without a statement timeout.
    setup = make_engine(settings.database_url)
    try:
        await prepare_database(setup, settings, admin_token=admin_token)
    finally:
        await setup.dispose()
    engine = make_engine(settings.database_url, role=split_pool(API_POOL, 1, total=settings.api_db_connections))
    sessionmaker = make_sessionmaker(engine)
    engines = [engine]
    worker_sessionmaker = health_sessionmaker = None
    if worker:
        worker_engine = make_engine(settings.database_url, role=WORKER_POOL)
        engines.append(worker_engine)
        worker_sessionmaker = make_sessionmaker(worker_engine)
    if api:
        health_engine = make_engine(settings.database_url, role=HEALTH_POOL)
        engines.append(health_engine)
        health_sessionmaker = make_sessionmaker(health_engine)

    tasks: list[asyncio.Task[object]] = []
    scheduler = None
    dispatcher = None
    telegram = None
    # Whether the bot is connected, for /healthz: `off` without a token (or in an api-only process).
    bot_status = BotStatus()
    lines = ["", "Shouwang (守望) is starting", f"  database: {_safe_url(settings.database_url)}"]

    if bot and settings.telegram_token:
        from bot.factory import build_bot, build_dispatcher
        from bot.liveness import CONNECTING, install_watch, keep_polling

        telegram = build_bot(settings)
        bot_status.mark_down(CONNECTING)
        install_watch(telegram, bot_status, api_base=settings.telegram_api_base, token=settings.telegram_token)
        dispatcher = build_dispatcher(settings=settings, sessionmaker=sessionmaker, clock=system_clock)
        # Telegram unreachable or the token refused never stops the API, the tick or the outbox:
        # the bot connects in the background and keeps trying (bot/liveness.py).
        tasks.append(asyncio.create_task(
            keep_polling(telegram, dispatcher, status=bot_status, min_delay=settings.bot_retry_min_seconds,
                         max_delay=settings.bot_retry_max_seconds,
                         on_connected=lambda me: _bot_connected(telegram, me, settings)),
            name="bot-polling",
        ))
        server = "" if settings.telegram_api_base == DEFAULT_TELEGRAM_API_BASE else f" via {settings.telegram_api_base}"
        lines.append(f"  Telegram bot: ON (long polling{server}; connecting in the background, see /healthz)")
        if not worker and not settings.is_sqlite:
            # The senders are in worker processes: a reply's 429 pauses them through the database.
            from bot.factory import reply_retry_of

            retry = reply_retry_of(telegram)
            if retry is not None:
                retry.on_pause = _pause_senders(sessionmaker)
    elif bot:
        lines.append(BOT_OFF_HELP)

    stop_sender = asyncio.Event()
    if worker:
        scheduler = build_scheduler(worker_sessionmaker, settings)
        scheduler.start()
        lines.append(f"  scheduler: tick every {settings.tick_seconds} s")
        from core.delivery.channels import ByChannel

        messengers = channel_messengers(settings, worker_sessionmaker)
        retry = None
        if settings.telegram_token:
            from bot.factory import build_bot, reply_retry_of
            from bot.i18n import build_i18n
            from bot.liveness import WhileBotUp
            from bot.messenger import TelegramMessenger

            polling_here = telegram is not None
            if telegram is None:
                telegram = build_bot(settings)
            messenger = TelegramMessenger(telegram, build_i18n(settings), media_root=settings.content_dir / "media",
                                          recordings_root=settings.recordings_root)
            messengers["telegram"] = WhileBotUp(messenger, bot_status, wait=settings.bot_retry_min_seconds) \
                if polling_here else messenger
            retry = reply_retry_of(telegram)
        if messengers:
            sender = build_sender(settings, worker_sessionmaker, ByChannel(messengers))
            if retry is not None:  # a reply that met a 429 holds bulk sending a beat longer (bot/retry.py)
                retry.on_pause = sender.bucket.pause
            tasks.append(asyncio.create_task(sender.run(stop_sender), name="outbox-sender"))
            paid = f"; paid broadcast for lessons and check-ins up to {settings.paid_broadcast_rate:g} msg/s" \
                if settings.paid_broadcast else ""
            lines.append(f"  outbox sender: {', '.join(sorted(messengers))}, up to {settings.send_rate:g} msg/s{paid}")
        else:
            lines.append("  outbox sender: off until the bot token is set (messages wait in the outbox)")

    server_obj = None
    if api:
        from api.main import create_app

        app = create_app(settings=settings, sessionmaker=sessionmaker, clock=system_clock,
                         bot_status=bot_status if bot else None, health_sessionmaker=health_sessionmaker)
        from web.app import mount as mount_web

        from channels.sms.wiring import build_sms

        # The SMS channel (sign-in codes; the worker sends outbox notices) and its
        # delivery-receipt route, when an SMS account is configured.
        sms = build_sms(settings, sessionmaker, app)
        # The guardians' mobile pages (/m/) and the staff console (/console/) on the same port.
        mount_web(app, settings=settings, sessionmaker=sessionmaker, clock=system_clock, sms=sms)
        config = uvicorn.Config(app, host=settings.host, port=settings.port, log_level="warning")
        server_obj = _QuietServer(config)
        base = f"http://{settings.host}:{settings.port}"
        lines.append(f"  HTTP API: {base}/api/v1  (docs: {base}/docs)")
        lines.append(f"  web: guardians {base}/m/  ·  staff console {base}/console/")
        lines.append("  SMS: " + ("Aliyun, receipts at /channels/sms/aliyun/receipts/<token>" if sms else
                                  "off (set SHOUWANG_SMS_ACCESS_KEY_ID, _SECRET, _SIGN_NAME, _TEMPLATES)"))

    if generated:
        lines.append(f"  admin API token (shown once; kept in {settings.var_dir / 'admin_token'}):")
        lines.append(f"    {admin_token}")
    elif not settings.admin_token:
        lines.append(f"  admin API token: in {settings.var_dir / 'admin_token'}")
    else:
        lines.append("  admin API token: from SHOUWANG_ADMIN_TOKEN")
    lines.append("  stop with Ctrl+C")
    print("\n".join(lines), flush=True)
    freeze_startup_objects()

    try:
        if server_obj is not None:
            _on_signal(lambda: setattr(server_obj, "should_exit", True))
            await server_obj.serve()  # returns on Ctrl+C / SIGTERM
        else:
            await _wait_for_signal()
    finally:
        stop_sender.set()
        if dispatcher is not None:
            try:
                await dispatcher.stop_polling()
            except RuntimeError:
                pass
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if telegram is not None:
            await telegram.session.close()
        if scheduler is not None:
            scheduler.shutdown(wait=False)
        for each in engines:
            await each.dispose()
        print("Shouwang stopped.", flush=True)
    return 0


def serve_api_workers(settings: Settings) -> int:
    """`shouwang api --workers N` (PostgreSQL): migrate and load content once here, then let
    uvicorn run N worker processes, each building its app from the environment (cli.asgi) on
    its share of the API's connections. uvicorn's supervisor handles Ctrl+C and restarts a
    worker that dies."""
    import os

    from cli.asgi import api_pools
    from cli.bootstrap import ensure_var_dir, prepare_database, resolve_admin_token

    ensure_var_dir(settings)
    admin_token, generated = resolve_admin_token(settings)

    async def prepare() -> None:
        setup = make_engine(settings.database_url)
        try:
            await prepare_database(setup, settings, admin_token=admin_token)
        finally:
            await setup.dispose()

    asyncio.run(prepare())
    # The workers read their settings from the environment, as any SHOUWANG_* setting.
    os.environ["SHOUWANG_API_WORKERS"] = str(settings.api_workers)
    os.environ["SHOUWANG_API_DB_CONNECTIONS"] = str(settings.api_db_connections)
    api_role, health_role = api_pools(settings)
    per_worker = api_role.pool_size + api_role.max_overflow + health_role.pool_size + health_role.max_overflow
    base = f"http://{settings.host}:{settings.port}"
    lines = ["", "Shouwang (守望) API is starting", f"  database: {_safe_url(settings.database_url)}",
             f"  HTTP API: {base}/api/v1  (docs: {base}/docs), {settings.api_workers} worker processes",
             f"  database connections: at most {per_worker} per worker, {per_worker * settings.api_workers} in all"]
    if generated:
        lines.append(f"  admin API token (shown once; kept in {settings.var_dir / 'admin_token'}):")
        lines.append(f"    {admin_token}")
    lines.append("  stop with Ctrl+C")
    print("\n".join(lines), flush=True)
    uvicorn.run("cli.asgi:build_app", factory=True, host=settings.host, port=settings.port,
                workers=settings.api_workers, log_level="warning")
    print("Shouwang stopped.", flush=True)
    return 0


class _pause_senders:  # noqa: N801 — used like a function: retry.on_pause = _pause_senders(sessionmaker)
    """on_pause for a bot process without a sender: the shared send budget row holds every
    worker's sender (core.delivery.budget) while replies wait out Telegram's 429."""

    def __init__(self, sessionmaker, clock=system_clock) -> None:  # type: ignore[no-untyped-def]
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.pending: set[asyncio.Task[None]] = set()

    def __call__(self, seconds: float) -> None:
        task = asyncio.get_running_loop().create_task(self._write(seconds))
        self.pending.add(task)
        task.add_done_callback(self.pending.discard)

    async def _write(self, seconds: float) -> None:
        from datetime import timedelta

        from core.delivery.budget import pause_all

        try:
            async with self.sessionmaker() as session, session.begin():
                await pause_all(session, name="telegram", until=self.clock() + timedelta(seconds=seconds))
        except Exception as exc:  # noqa: BLE001 — a missed pause only means bulk meets a 429 itself
            log.warning("could not share a reply's rate-limit pause with the senders (%s)", type(exc).__name__)


async def _bot_connected(telegram, me, settings: Settings) -> None:  # type: ignore[no-untyped-def]
    """Once Telegram answers: learn the bot's username (invite links) and set the command menu."""
    from bot.factory import set_commands

    if not settings.telegram_bot_username:
        settings.telegram_bot_username = me.username
    try:
        await set_commands(telegram, settings=settings)
    except Exception as exc:  # noqa: BLE001 — the menu is a nicety; polling matters more
        log.warning("Telegram bot: could not set the command menu (%s); continuing", type(exc).__name__)


def _on_signal(callback) -> None:  # type: ignore[no-untyped-def]
    import signal

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, callback)
        except NotImplementedError:  # pragma: no cover (Windows)
            pass


async def _wait_for_signal() -> None:
    stop = asyncio.Event()
    _on_signal(stop.set)
    await stop.wait()


class _QuietServer(uvicorn.Server):
    """uvicorn without its own signal capture: it re-raises Ctrl+C after shutdown, which would
    cancel our clean shutdown of the bot, the sender and the database. run_all handles signals."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _safe_url(url: str) -> str:
    from sqlalchemy.engine import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001
        return "(unparseable SHOUWANG_DATABASE_URL)"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(asyncio.run(run_all(Settings(), api=True, bot=True, worker=True)))
