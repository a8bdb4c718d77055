"""Guardian commands from someone who is not (yet) a guardian: told kindly why not. Placed
before the flow router, so a command mid-enrolment is not taken for a typed answer."""
from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.prompts import send_step
from bot.texts import NEED_INVITATION, both
from core.clock import Clock
from core.models import Draft, Staff

GUARDIAN_COMMANDS = ("help", "checkin", "settings", "children", "invite", "mydata", "stop", "delete")


async def on_command_not_enrolled(
    message: Message, bot: Bot, session: AsyncSession, i18n: I18n, clock: Clock,
    draft: Draft | None, staff: Staff | None,
) -> None:
    """Only guardians reach the real handlers; everyone else is told kindly why not."""
    if draft is not None:
        await send_step(bot, session, draft, chat_id=message.chat.id, today=clock().date(), i18n=i18n,
                        hint=_("This works once you have finished joining. Let's continue:"))
        return
    if staff is not None:
        await message.answer(_("This command is for families enrolled in Shouwang. "
                               "This chat is linked to your staff account."))
        return
    await message.answer(both(NEED_INVITATION))


def make_router() -> Router:
    router = Router(name="newcomers")
    router.message.register(on_command_not_enrolled, Command(*GUARDIAN_COMMANDS))
    return router
