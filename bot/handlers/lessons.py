"""/lesson, /pause, /resume, /history, and the one-tap answers under lessons."""
from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import CHANNEL, address_of
from bot.handlers.guards import is_guardian, refuse_if_stopped
from bot.keyboards.lessons import LessonCB, ReReadCB, history_keyboard
from bot.lesson_render import lesson_html
from bot.middlewares.refusals import OLD_BUTTON, Refusal
from bot.texts import N_
from core.clock import Clock
from core.delivery import lessons as lesson_service
from core.delivery.outbox import lesson_content
from core.enrolment import service as enrolment
from core.errors import Conflict
from core.flows.delivery import AtOnce, deliver_now
from core.locales import localized
from core.models import Guardian
from core.models.enums import GuardianStatus

log = logging.getLogger(__name__)


async def on_lesson(message: Message, session: AsyncSession, guardian: Guardian, clock: Clock,
                    at_once: AtOnce) -> None:
    if await refuse_if_stopped(message, guardian):
        return
    now = clock()
    try:
        todo = await lesson_service.take_next_lesson(session, guardian=guardian, address=address_of(message.chat.id), now=now)
    except Conflict:
        return  # a second tap handled at the same moment: the first one sends the lesson
    if todo is None:
        await message.answer(_("You have read every lesson we have for your family for now. "
                               "New ones will come on the usual days."))
        return
    # The lesson's outbox row goes out now through the port (a 429 comes back at once); if
    # Telegram does not take it, the row stays in the outbox and the sender sends it.
    outcome = (await deliver_now(session, at_once, [todo.delivery], clock=clock, channels=(CHANNEL,))).get(
        todo.delivery.id)
    if outcome is not None and outcome.status != "sent":
        log.info("on-request lesson delivery %s not sent in the handler: %s", todo.delivery.id,
                 outcome.error or outcome.status)


async def on_pause(message: Message, guardian: Guardian, clock: Clock) -> None:
    if await refuse_if_stopped(message, guardian):
        return
    enrolment.set_paused(guardian, paused=True, now=clock())
    await message.answer(_("Lessons are paused. Send /resume when you want them again. "
                           "Check-in questions about the children still come."))


async def on_resume(message: Message, guardian: Guardian, clock: Clock) -> None:
    if await refuse_if_stopped(message, guardian):
        return
    enrolment.set_paused(guardian, paused=False, now=clock())
    await message.answer(_("Lessons are on again. The next one comes on the usual day, or send /lesson now."))


async def on_history(message: Message, session: AsyncSession, guardian: Guardian) -> None:
    if await refuse_if_stopped(message, guardian):
        return
    history = await lesson_service.lesson_history(session, guardian=guardian)
    if not history:
        await message.answer(_("You have not had a lesson yet. Send /lesson to read the first one now."))
        return
    # The day as the guardian's own calendar says it, not UTC's.
    tz = ZoneInfo(guardian.timezone or await enrolment.home_timezone(session, guardian=guardian))
    items = []
    for delivery, lesson in history:
        texts = localized(lesson.texts, guardian.locale, default={})
        day = delivery.sent_at.astimezone(tz).strftime("%m-%d") if delivery.sent_at else ""
        items.append((delivery.id, f"{day} · {texts.get('title', lesson.id)}"))
    await message.answer(_("Your recent lessons. Tap one to read it again."), reply_markup=history_keyboard(items))


LESSON_GONE = Refusal(default=__("This lesson is no longer available."))


async def on_reread(callback: CallbackQuery, callback_data: ReReadCB, bot: Bot, session: AsyncSession,
                    guardian: Guardian) -> None:
    lesson = await lesson_service.lesson_for_rereading(session, guardian=guardian,
                                                       delivery_id=callback_data.delivery_id)
    await callback.answer()
    content = lesson_content(lesson, locale=guardian.locale)
    await bot.send_message(callback.from_user.id, lesson_html(content))


_TRIED_REPLIES = {
    "yes": N_("Wonderful. Small things done often make a big difference for a child."),
    "not_yet": N_("That is all right. There is no hurry; try it when a quiet moment comes."),
    "no": N_("Thank you for telling us. Every family is different; we will keep that in mind."),
}


async def on_lesson_answer(callback: CallbackQuery, callback_data: LessonCB, bot: Bot, session: AsyncSession,
                           guardian: Guardian, clock: Clock) -> None:
    await lesson_service.record_feedback(
        session, guardian=guardian, delivery_id=callback_data.delivery_id, question=callback_data.question,
        answer=callback_data.answer, now=clock(),
    )
    await session.commit()  # stored before we say thank you
    await callback.answer(_("Thank you!"))
    if callback.message is not None and guardian.status != GuardianStatus.stopped:
        try:
            await bot.edit_message_reply_markup(chat_id=callback.from_user.id,
                                                message_id=callback.message.message_id, reply_markup=None)
        except TelegramAPIError:
            pass  # the message may be too old to edit; the answer is stored anyway
    if callback_data.question == "tried":
        await bot.send_message(callback.from_user.id, _(_TRIED_REPLIES[callback_data.answer]))


def make_router() -> Router:
    router = Router(name="lessons")
    router.message.filter(is_guardian)
    router.callback_query.filter(is_guardian)
    router.message.register(on_lesson, Command("lesson"))
    router.message.register(on_pause, Command("pause"))
    router.message.register(on_resume, Command("resume"))
    router.message.register(on_history, Command("history"))
    router.callback_query.register(on_reread, ReReadCB.filter(), flags={"refusal": LESSON_GONE})
    router.callback_query.register(on_lesson_answer, LessonCB.filter(), flags={"refusal": OLD_BUTTON})
    return router
