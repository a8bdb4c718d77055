"""/children: list the household's children; add, correct or remove one."""
from __future__ import annotations

from html import escape

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import address_of
from bot.handlers.guards import is_guardian, refuse_if_stopped
from bot.keyboards import guardian as kb
from bot.keyboards.callbacks import ChildCB
from bot.middlewares.refusals import MESSAGE, Refusal
from bot.prompts import send_step
from bot.texts import child_lines
from core.clock import Clock
from core import people as rules
from core.enrolment import service as enrolment
from core.errors import NotFound
from core.models import Guardian
from core.models.enums import DraftFlow


async def on_children(message: Message, session: AsyncSession, guardian: Guardian) -> None:
    if await refuse_if_stopped(message, guardian):
        return
    children = await enrolment.list_children(session, household_id=guardian.household_id)
    text = _("Your children:") + "\n" + child_lines(children) + "\n\n" + _("What would you like to do?")
    await message.answer(text, reply_markup=kb.children(children))


# Said by the refusal middleware (bot.middlewares.refusals), below the tap already answered.
CHILD_GONE = Refusal(
    kinds={NotFound: __("This child is no longer on your list. Send /children to see it now.")},
    codes={"last_child": __("A family needs at least one child, so {nickname} stays. To leave Shouwang, send /delete.")},
    default=MESSAGE.default, as_message=True,
)


async def on_child_button(
    callback: CallbackQuery, callback_data: ChildCB, bot: Bot, session: AsyncSession, i18n: I18n,
    clock: Clock, guardian: Guardian, refusal_args: dict[str, object],
) -> None:
    await callback.answer()
    chat_id = callback.from_user.id
    now = clock()
    action = callback_data.action
    if action == "add":
        count = len(await enrolment.list_children(session, household_id=guardian.household_id))
        if count >= rules.MAX_CHILDREN:
            await bot.send_message(chat_id, _("You can tell us about at most {max} children.").format(
                max=rules.MAX_CHILDREN))
            return
        draft = await enrolment.begin_flow(session, address=address_of(chat_id), flow=DraftFlow.add_child,
                                           locale=guardian.locale, now=now)
        await session.commit()
        await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n)
        return
    child = await enrolment.get_own_child(session, guardian=guardian, child_id=callback_data.child_id)
    nickname = refusal_args["nickname"] = escape(child.nickname)
    if action == "edit":
        draft = await enrolment.begin_flow(session, address=address_of(chat_id), flow=DraftFlow.edit_child,
                                           locale=guardian.locale, data={"child_id": child.id}, now=now)
        await session.commit()
        await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n)
    elif action == "remove":
        await bot.send_message(
            chat_id,
            _("Remove {nickname} from Shouwang? Their details will be erased.").format(nickname=nickname),
            reply_markup=kb.confirm_remove(child),
        )
    elif action == "remove_yes":
        await enrolment.remove_own_child(session, guardian=guardian, child_id=child.id)
        await session.commit()
        await bot.send_message(chat_id, _("{nickname} has been removed.").format(nickname=nickname))
    elif action == "remove_no":
        await bot.send_message(chat_id, _("All right, nothing was changed."))


def make_router() -> Router:
    router = Router(name="children")
    router.message.filter(is_guardian)
    router.callback_query.filter(is_guardian)
    router.message.register(on_children, Command("children"))
    router.callback_query.register(on_child_button, ChildCB.filter(), flags={"refusal": CHILD_GONE})
    return router
