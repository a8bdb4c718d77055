"""/stop and /delete, each confirmed with buttons first."""
from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.guards import is_guardian
from bot.keyboards import guardian as kb
from bot.keyboards.callbacks import LeaveCB
from core.clock import Clock
from core.config import Settings
from core.enrolment import notices
from core.enrolment import service as enrolment
from core.models import Guardian
from core.models.enums import GuardianStatus


async def on_stop(message: Message, guardian: Guardian) -> None:
    if guardian.status == GuardianStatus.stopped:
        await message.answer(_("You have stopped all messages. To start again, send /start."))
        return
    await message.answer(
        _("Do you want to stop all messages from Shouwang? Your data is kept, and you can come back at any time."),
        reply_markup=kb.confirm_leave("stop"),
    )


async def on_delete(message: Message) -> None:
    await message.answer(
        _("Do you want to erase your data from Shouwang? This cannot be undone. "
          "You will get no more messages."),
        reply_markup=kb.confirm_leave("delete"),
    )


async def on_leave_button(
    callback: CallbackQuery, callback_data: LeaveCB, bot: Bot, session: AsyncSession,
    clock: Clock, guardian: Guardian, settings: Settings,
) -> None:
    await callback.answer()
    chat_id = callback.from_user.id
    if not callback_data.confirm:
        await bot.send_message(chat_id, _("All right, nothing was changed."))
        return
    if callback_data.action == "stop":
        enrolment.stop_guardian(guardian, now=clock())
        await notices.guardian_left(session, guardian=guardian, how=notices.STOPPED, now=clock())
        await session.commit()
        await bot.send_message(chat_id, _(
            "Done. You will get no more messages from Shouwang.\n\n"
            "If you want to come back, just send /start."
        ))
        return
    household_gone = await enrolment.erase_guardian(session, guardian=guardian, now=clock(),
                                                    recordings_root=settings.recordings_root)
    await session.commit()
    if household_gone:
        rest = _("You were the last person in your family using Shouwang, so the children's "
                 "details were erased too.")
    else:
        rest = _("The children's details stay, because another person in your family still uses Shouwang.")
    await bot.send_message(chat_id, _("Your data has been erased.") + " " + rest + "\n\n" + _(
        "Thank you for taking part. If you want to join again one day, ask your child director for a link."
    ))


def make_router() -> Router:
    router = Router(name="leaving")
    router.message.filter(is_guardian)
    router.callback_query.filter(is_guardian)
    router.message.register(on_stop, Command("stop"))
    router.message.register(on_delete, Command("delete"))
    router.callback_query.register(on_leave_button, LeaveCB.filter())
    return router
