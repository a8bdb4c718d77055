"""The Messenger port (bot.messenger.TelegramMessenger) for handlers, with the sender's settings,
as data["at_once"] (core.flows.delivery.AtOnce): a handler's message that must go out at once (the
safety message, /lesson, a card redrawn, "someone in your family is answering") is an outbox row
sent through it by core (core.flows.delivery.deliver_now), rendered, retried and recorded exactly
as the outbox sender does."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n

from bot.messenger import TelegramMessenger
from core.delivery.sender import SenderConfig
from core.flows.delivery import AtOnce


class MessengerMiddleware(BaseMiddleware):
    """Outer middleware on dp.update: one TelegramMessenger per bot the dispatcher serves, sending
    at once under `config` (core.flows.delivery.sender_config: the worker's settings)."""

    def __init__(self, i18n: I18n, *, config: SenderConfig, media_root: Path,
                 recordings_root: Path | None = None) -> None:
        self.i18n = i18n
        self.config = config
        self.media_root = media_root
        self.recordings_root = recordings_root
        self._messengers: dict[int, TelegramMessenger] = {}

    def messenger_for(self, bot: Bot) -> TelegramMessenger:
        messenger = self._messengers.get(id(bot))
        if messenger is None or messenger.bot is not bot:
            messenger = self._messengers[id(bot)] = TelegramMessenger(bot, self.i18n, media_root=self.media_root,
                                                                       recordings_root=self.recordings_root)
        return messenger

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        data["at_once"] = AtOnce(self.messenger_for(data["bot"]), self.config)
        return await handler(event, data)
