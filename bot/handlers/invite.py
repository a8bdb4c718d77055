"""/invite: a one-time link for another person who cares for the same children."""
from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.guards import is_guardian, refuse_if_stopped
from core.clock import Clock
from core.config import Settings
from core.enrolment import service as enrolment
from core.models import Guardian


async def on_invite(
    message: Message, session: AsyncSession, settings: Settings, clock: Clock, guardian: Guardian
) -> None:
    if await refuse_if_stopped(message, guardian):
        return
    days = settings.household_invite_days
    invite = await enrolment.create_household_invite(session, guardian=guardian, now=clock(), days=days)
    await session.commit()
    link = settings.deep_link(invite.code)
    how = escape(link) if link else _("Open this bot and send: /start {code}").format(code=invite.code)
    await message.answer(
        _("Is there another person who cares for the same children — for example a parent "
          "working in the city? Send them this link. When they open it, they join your family "
          "in Shouwang and get the lessons too.") + "\n\n" + how + "\n\n"
        + _("The link works once, for {days} days. They will not see your answers, and you will "
            "not see theirs.").format(days=days)
    )


def make_router() -> Router:
    router = Router(name="invite")
    router.message.filter(is_guardian)
    router.message.register(on_invite, Command("invite"))
    return router
