"""Whatever no other handler took: stray messages and buttons from old messages. Nobody is
ever met with silence."""
from __future__ import annotations

from html import escape

from aiogram import Bot, F, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.alert_render import staff_help
from bot.handlers.flow import answer_stale
from bot.texts import NEED_INVITATION, both, help_text
from core.clock import Clock
from core.enrolment.service import director_phone_for
from core.models import Draft, Guardian, Staff
from core.models.enums import GuardianStatus


async def on_anything_else(message: Message, guardian: Guardian | None, staff: Staff | None,
                           session: AsyncSession | None = None) -> None:
    if guardian is not None and guardian.status == GuardianStatus.stopped:
        await message.answer(_("You have stopped all messages. To start again, send /start."))
    elif guardian is not None:
        text = _("Sorry, I did not understand that.") + "\n\n" + help_text()
        if session is not None:
            # A person to call, when the cohort's child director chose to show their number.
            name, phone = await director_phone_for(session, guardian=guardian)
            if name and phone:
                text += "\n\n" + _("To talk to your child director {name}, call {phone}.").format(
                    name=escape(name), phone=phone)
        await message.answer(text)
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
