"""The Messenger port (bot.messenger.TelegramMessenger) for handlers, as data["messenger"]: a
handler's message that must go out at once (the safety message, /lesson, a card redrawn, "someone
in your family is answering") is an outbox row sent through it by core
(core.flows.delivery.deliver_now), rendered and recorded exactly as the outbox sender does."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiogram import BaseMiddleware, Bot
from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n

from bot.messenger import TelegramMessenger


class MessengerMiddleware(BaseMiddleware):
    """Outer middleware on dp.update: one TelegramMessenger per bot the dispatcher serves."""

    def __init__(self, i18n: I18n, *, media_root: Path, recordings_root: Path | None = None) -> None:
        self.i18n = i18n
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
        data["messenger"] = self.messenger_for(data["bot"])
        return await handler(event, data)
