"""Answering check-ins: one question per message with answer buttons, "back", the safety message
after a red answer, the thank-you and the note question at the end, and /checkin to carry on.

Every answer is committed before the bot says anything; whatever Telegram then does (a failed
edit, a lost reply), what the guardian said is kept."""
from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError, TelegramBadRequest
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import CHANNEL
from bot.checkin_render import question_html, thanks_html
from bot.handlers.guards import is_guardian, refuse_if_stopped
from bot.keyboards.checkins import AnswerCB, CheckinNavCB, note_keyboard, question_keyboard
from bot.middlewares.refusals import Refusal
from core.flows import checkin as conversation
from core.checkin.free_text import skip_note
from core.checkin.safety import SafetyMessage
from core.checkin.views import QuestionView
from core.clock import Clock
from core.flows.delivery import AtOnce, deliver_now
from core.models import Delivery, Guardian

log = logging.getLogger(__name__)


async def _edit_or_send(bot: Bot, chat_id: int, message_id: int | None, text: str, markup=None) -> None:  # type: ignore[no-untyped-def]
    """Turn the answered message into the next one; if Telegram will not edit it (too old, or
    unchanged), send a new message instead."""
    if message_id is not None:
        try:
            await bot.edit_message_text(text=text, chat_id=chat_id, message_id=message_id, reply_markup=markup)
            return
        except TelegramBadRequest as exc:
            if "not modified" in exc.message.lower():
                return
    await bot.send_message(chat_id, text, reply_markup=markup)


async def _strip_buttons(bot: Bot, chat_id: int, message_id: int | None) -> None:
    if message_id is None:
        return
    try:
        await bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id, reply_markup=None)
    except TelegramAPIError:
        pass  # too old to edit, or already without buttons


# A tap that cannot be taken (refused before anything was written): say why in a few words, and
# take the buttons away.
CHECKIN_TAP = Refusal(
    default=__("This button is from an old message and no longer works."),
    codes={
        "claimed_by_other": __("Someone in your family is already answering these questions. Thank you!"),
        "expired": __("These questions have closed. New ones will come as usual. Thank you!"),
        "closed": __("These questions have closed. New ones will come as usual. Thank you!"),
    },
    alert=True, strip_buttons=True,
)
# "No note" on a check-in that is gone: nothing to say, only the buttons go.
NOTE_GONE = Refusal(strip_buttons=True)


async def send_safety(at_once: AtOnce, session: AsyncSession, reserved: tuple[Delivery, SafetyMessage] | None,
                      clock: Clock) -> None:
    """The safety message now: its reserved outbox row goes out through the port (a 429 comes
    back at once). If Telegram does not take it, the row stays in the outbox and the sender
    delivers it as soon as it can: a safety message is never dropped. Commits."""
    if reserved is None:
        return
    delivery = reserved[0]
    outcome = (await deliver_now(session, at_once, [delivery], clock=clock, channels=(CHANNEL,))).get(delivery.id)
    if outcome is not None and outcome.status != "sent":
        log.warning("safety delivery %s not sent in the handler (%s); the sender will retry",
                    delivery.id, outcome.error or outcome.status)


async def on_answer(callback: CallbackQuery, callback_data: AnswerCB, bot: Bot, session: AsyncSession,
                    guardian: Guardian, clock: Clock, at_once: AtOnce) -> None:
    chat_id = callback.from_user.id
    message_id = callback.message.message_id if callback.message else None
    step = await conversation.answer(session, checkin_id=callback_data.checkin_id, index=callback_data.item,
                                     value=callback_data.value, guardian=guardian, now=clock())
    await session.commit()  # the answer is stored before we say a word
    await callback.answer()
    if step.safety is not None:
        await send_safety(at_once, session, step.safety, clock)
    if step.completed:
        await _strip_buttons(bot, chat_id, message_id)
        await bot.send_message(chat_id, thanks_html(), reply_markup=note_keyboard(step.checkin.id))
    elif step.question is not None:
        text = question_html(step.question)
        if step.safety is not None:
            # After the safety message the next question comes below it, not above.
            await _strip_buttons(bot, chat_id, message_id)
            await bot.send_message(chat_id, text, reply_markup=question_keyboard(step.question))
        else:
            await _edit_or_send(bot, chat_id, message_id, text, question_keyboard(step.question))
    else:
        # A safety answer from a guardian who is not the one answering: stored and acted on.
        await _strip_buttons(bot, chat_id, message_id)
    if step.taken:
        # Other guardians of the household see, without content, that it is being (or was)
        # answered: edits queued by core, sent now (the sender retries what fails).
        await deliver_now(session, at_once, step.taken, clock=clock, channels=(CHANNEL,))


async def on_back(callback: CallbackQuery, callback_data: CheckinNavCB, bot: Bot, session: AsyncSession,
                  guardian: Guardian, clock: Clock) -> None:
    view = await conversation.back(session, checkin_id=callback_data.checkin_id, guardian=guardian, now=clock())
    await session.commit()
    if view is None:
        await callback.answer(_("This is the first question."))
        return
    await callback.answer()
    message_id = callback.message.message_id if callback.message else None
    await _edit_or_send(bot, callback.from_user.id, message_id, question_html(view), question_keyboard(view))


async def on_no_note(callback: CallbackQuery, callback_data: CheckinNavCB, bot: Bot, session: AsyncSession,
                     guardian: Guardian) -> None:
    message_id = callback.message.message_id if callback.message else None
    await skip_note(session, checkin_id=callback_data.checkin_id, guardian_id=guardian.id)
    await session.commit()
    await callback.answer()
    await _strip_buttons(bot, callback.from_user.id, message_id)
    await bot.send_message(callback.from_user.id, _("All right. Thank you for your time!"))


async def ask_current(bot: Bot, chat_id: int, view: QuestionView, *, lead: str | None = None) -> None:
    await bot.send_message(chat_id, question_html(view, with_intro=view.number == 1 and view.current is None,
                                                  lead=lead), reply_markup=question_keyboard(view))


async def on_checkin(message: Message, bot: Bot, session: AsyncSession, guardian: Guardian, clock: Clock) -> None:
    """Carry on with what is waiting (after a restart, days later), or say nothing is."""
    if await refuse_if_stopped(message, guardian):
        return
    now = clock()
    for checkin in await conversation.open_for(session, guardian=guardian, now=now):
        view = await conversation.current_question(session, checkin=checkin, guardian=guardian)
        if view is not None:
            await ask_current(bot, message.chat.id, view)
            return
    await message.answer(_("There are no questions waiting for you now. Thank you! New ones will come as usual."))


def make_router() -> Router:
    router = Router(name="checkins")
    router.message.filter(is_guardian)
    router.callback_query.filter(is_guardian)
    router.message.register(on_checkin, Command("checkin"))
    router.callback_query.register(on_answer, AnswerCB.filter(), flags={"refusal": CHECKIN_TAP})
    router.callback_query.register(on_back, CheckinNavCB.filter(F.action == "back"), flags={"refusal": CHECKIN_TAP})
    router.callback_query.register(on_no_note, CheckinNavCB.filter(F.action == "no_note"), flags={"refusal": NOTE_GONE})
    return router
