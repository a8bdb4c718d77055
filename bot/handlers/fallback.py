"""Whatever no other handler took: stray messages and buttons from old messages. Nobody is
ever met with silence."""
from __future__ import annotations

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alert_render import staff_help
from bot.handlers.flow import answer_stale
from bot.texts import NEED_INVITATION, both, help_text
from core.clock import Clock
from core.models import Draft, Guardian, Staff
from core.models.enums import GuardianStatus


async def on_anything_else(message: Message, guardian: Guardian | None, staff: Staff | None) -> None:
    if guardian is not None and guardian.status == GuardianStatus.stopped:
        await message.answer(_("You have stopped all messages. To start again, send /start."))
    elif guardian is not None:
        await message.answer(_("Sorry, I did not understand that.") + "\n\n" + help_text())
    elif staff is not None:
        await message.answer(staff_help())
    else:
        await message.answer(both(NEED_INVITATION))


async def on_old_button(callback: CallbackQuery, bot: Bot, session: AsyncSession, i18n: I18n,
                        clock: Clock, draft: Draft | None) -> None:
    await answer_stale(callback, bot, session, draft, i18n, clock)


def make_router() -> Router:
    router = Router(name="fallback")
    router.message.register(on_anything_else)
    router.callback_query.register(on_old_button, F.data)
    return router
