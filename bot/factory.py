"""Building the bot and its dispatcher: the one factory used by production and by tests."""
from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiogram import Bot, Dispatcher
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ParseMode
from aiogram.types import BotCommand
from aiogram.utils.i18n import I18n
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.handlers import get_routers
from bot.i18n import LocaleMiddleware, build_i18n
from bot.middlewares import ContextMiddleware, SessionMiddleware
from bot.middlewares.messenger import MessengerMiddleware
from bot.retry import ReplyRetry, Sleep
from bot.texts import N_
from core.checkin.risk import RiskScanner, scanner_for
from core.clock import Clock, system_clock
from core.config import Settings
from core.flows.delivery import sender_config

# Commands a guardian sees in Telegram's menu, in the order shown.
GUARDIAN_COMMANDS = (
    ("help", N_("What you can do")),
    ("checkin", N_("Answer the questions waiting for you")),
    ("lesson", N_("The next lesson now")),
    ("history", N_("Read recent lessons again")),
    ("pause", N_("Pause lessons")),
    ("resume", N_("Resume lessons")),
    ("settings", N_("Language, pause lessons")),
    ("children", N_("Your children")),
    ("invite", N_("Invite another carer of the children")),
    ("mydata", N_("What Shouwang keeps about you")),
    ("stop", N_("Stop all messages")),
    ("delete", N_("Erase your data")),
)


def build_bot(settings: Settings) -> Bot:
    """A Bot speaking to settings.telegram_api_base (Telegram, a self-hosted Bot API server or
    a test server), with HTML as the parse mode: user text is always escaped before sending.
    Replies to people wait out Telegram's 429s (bot.retry.ReplyRetry)."""
    if not settings.telegram_token:
        raise ValueError("SHOUWANG_TELEGRAM_TOKEN is not set")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    bot = Bot(
        token=settings.telegram_token,
        session=session,
        default=DefaultBotProperties(parse_mode=ParseMode.HTML),
    )
    install_reply_retry(bot, settings=settings)
    return bot


def install_reply_retry(
    bot: Bot, *, settings: Settings, sleep: Sleep = asyncio.sleep, on_pause: Callable[[float], None] | None = None,
) -> ReplyRetry:
    """The request middleware that retries rate-limited replies (tests pass a recording `sleep`)."""
    retry = ReplyRetry(attempts=settings.reply_retry_attempts, max_wait=settings.reply_retry_max_wait_seconds,
                       sleep=sleep, on_pause=on_pause)
    bot.session.middleware(retry)
    return retry


def reply_retry_of(bot: Bot) -> ReplyRetry | None:
    """The ReplyRetry installed on this bot, so the composition root can connect it to the sender."""
    return next((m for m in bot.session.middleware[:] if isinstance(m, ReplyRetry)), None)


def build_dispatcher(
    *,
    settings: Settings,
    sessionmaker: async_sessionmaker[AsyncSession],
    clock: Clock = system_clock,
    i18n: I18n | None = None,
    risk_scanner: RiskScanner | None = None,
) -> Dispatcher:
    # No FSM storage: conversation state lives in Draft rows (and check-in cursors), never in memory.
    scanner = risk_scanner or scanner_for(settings.content_dir / "risk" / "lexicon.yaml")
    dp = Dispatcher(disable_fsm=True, settings=settings, clock=clock, risk_scanner=scanner)
    i18n = i18n or build_i18n(settings)
    dp.update.outer_middleware(SessionMiddleware(sessionmaker, clock))
    dp.update.outer_middleware(ContextMiddleware())
    # data["at_once"]: the Messenger port over the bot handling the update and the sender's
    # settings (the worker's: sender_config), for the messages a handler sends at once as outbox
    # rows (core.flows.delivery.deliver_now).
    dp.update.outer_middleware(MessengerMiddleware(i18n, config=sender_config(settings),
                                                  media_root=settings.content_dir / "media",
                                                  recordings_root=settings.recordings_root))
    # setup() covers every event type except `update`, errors included, so even the error
    # handler speaks the person's language.
    LocaleMiddleware(i18n, fallback_locale=settings.default_locale).setup(dp)
    dp.include_routers(*get_routers())
    return dp


async def set_commands(bot: Bot, *, settings: Settings | None = None, i18n: I18n | None = None) -> None:
    """The command menu in Chinese ("zh" and the default) and English ("en")."""
    if i18n is None:
        i18n = build_i18n(settings or Settings())
    for language_code, babel_locale in ((None, "zh_Hans"), ("zh", "zh_Hans"), ("en", "en")):
        commands = [
            BotCommand(command=name, description=i18n.gettext(description, locale=babel_locale))
            for name, description in GUARDIAN_COMMANDS
        ]
        await bot.set_my_commands(commands=commands, language_code=language_code)
