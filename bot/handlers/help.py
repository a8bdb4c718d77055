"""/help for an enrolled guardian (others are answered by the fallback router)."""
from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message

from bot.handlers.guards import is_guardian
from bot.texts import help_text


async def on_help(message: Message) -> None:
    await message.answer(help_text())


def make_router() -> Router:
    router = Router(name="help")
    router.message.filter(is_guardian)
    router.message.register(on_help, Command("help"))
    return router
