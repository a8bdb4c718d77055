"""Answers to the steps of a flow kept in a Draft: enrolling, joining a household, adding or
correcting a child. Each handler parses, calls core, commits, then shows the next step."""
from __future__ import annotations

import logging
from datetime import datetime
from html import escape

from aiogram import Bot, Router
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import address_of
from bot.keyboards import flow as kb
from bot.keyboards.callbacks import ConsentCB, StepCB
from bot.handlers.checkins import send_safety
from bot.prompts import draft_locale, send_step
from bot.texts import PLEASE_TAP, both, help_text, invalid_reason
from core.checkin.free_text import receive_draft_text
from core.checkin.risk import RiskScanner
from core.checkin.safety import reserve_safety_for_address
from core.clock import Clock
from core.enrolment import service as enrolment
from core.flows import enrolment as enrolment_flow
from core.locales import pick_locale
from core.models import Draft, Guardian
from core.flows.delivery import AtOnce

log = logging.getLogger(__name__)

def has_draft(_event: object, draft: Draft | None) -> bool:
    return draft is not None


# ---------------------------------------------------------------- buttons


async def answer_stale(
    callback: CallbackQuery, bot: Bot, session: AsyncSession, draft: Draft | None, i18n: I18n, clock: Clock
) -> None:
    """A button from an earlier message: say so briefly and show what we are asking now."""
    await callback.answer(_("That button is from an earlier question."))
    if draft is not None:
        await send_step(bot, session, draft, chat_id=callback.from_user.id, today=clock().date(), i18n=i18n)


def _current(draft: Draft | None, draft_id: int, step: str | None = None) -> bool:
    return draft is not None and draft.id == draft_id and (step is None or draft.step == step)


async def on_consent(
    callback: CallbackQuery, callback_data: ConsentCB, bot: Bot, session: AsyncSession,
    i18n: I18n, clock: Clock, draft: Draft | None,
) -> None:
    if not _current(draft, callback_data.draft_id, enrolment.CONSENT):
        await answer_stale(callback, bot, session, draft, i18n, clock)
        return
    assert draft is not None
    now = clock()
    result = await enrolment_flow.consent(session, draft=draft, agree=callback_data.agree,
                                          version=callback_data.version, now=now)
    await session.commit()
    await callback.answer()
    if result.outcome == "step":
        await send_step(bot, session, draft, chat_id=callback.from_user.id, today=now.date(), i18n=i18n)
        return
    with draft_locale(i18n, draft):
        if result.flagged:
            # Words that worried us were passed to the child director before they said no: be honest.
            text = _("Thank you for your time. We keep nothing about you, except the words you wrote "
                     "that worried us: they went to the child director, who may look in on the children.\n\n"
                     "If you change your mind, just open the invitation link again. Take care!")
        else:
            text = _("Thank you for your time. We have not kept anything about you.\n\n"
                     "If you change your mind, just open the invitation link again. Take care!")
        await bot.send_message(callback.from_user.id, text)


async def on_step_button(
    callback: CallbackQuery, callback_data: StepCB, bot: Bot, session: AsyncSession,
    i18n: I18n, clock: Clock, draft: Draft | None, guardian: Guardian | None,
) -> None:
    if not _current(draft, callback_data.draft_id, callback_data.step):
        await answer_stale(callback, bot, session, draft, i18n, clock)
        return
    assert draft is not None
    await callback.answer()
    chat_id = callback.from_user.id
    now = clock()
    result = await enrolment_flow.choose(session, draft=draft, guardian=guardian, value=callback_data.value, now=now)
    await session.commit()  # stored before anything is said
    await _show(bot, session, draft, result, i18n, chat_id, now)


async def _show(bot: Bot, session: AsyncSession, draft: Draft, result: enrolment_flow.Next, i18n: I18n,
                chat_id: int, now: datetime, *, typed: bool = False) -> None:
    """A flow result as Bot API calls. A typed answer's reason is given in the draft's language
    (the person may just have chosen it); everything else in the update's."""
    if result.outcome == "step":
        hint = None
        if result.hint is not None:
            log.info("draft_id=%s input not taken: %s", draft.id, result.hint)
            if typed and result.hint not in ("please_choose", "please_type"):
                with draft_locale(i18n, draft):
                    hint = _hint(result, draft.step)
            else:
                hint = _hint(result, draft.step)
        await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n, hint=hint)
        return
    if result.outcome == "cancelled":
        await bot.send_message(chat_id, _done_text(result))
        return
    with draft_locale(i18n, draft):
        await bot.send_message(chat_id, _done_text(result))


def _hint(result: enrolment_flow.Next, step: str) -> str:
    if result.hint == "stale_step":
        return _("That button is from an earlier question.")
    if result.hint == "please_choose":
        return both(PLEASE_TAP) if step == enrolment.LANGUAGE else _(PLEASE_TAP)
    if result.hint == "please_type":
        return _type_hint(step)
    return invalid_reason(result.hint or "", max=result.limit)


def _done_text(result: enrolment_flow.Next) -> str:
    if result.outcome == "cancelled":
        return _("All right, nothing was changed.") + "\n\n" + help_text()
    if result.outcome == "identity_saved":
        return _("Saved. Thank you!") + "\n\n" + _("Send /mydata to see everything we keep about you.")
    if result.outcome in ("child_added", "child_saved"):
        done = _("Saved: {nickname}.") if result.outcome == "child_saved" else _("Added: {nickname}.")
        return done.format(nickname=escape(result.nickname or "")) + "\n\n" + _("Send /children to see all your children.")
    if result.outcome == "invitation_gone":
        return _("Sorry, this invitation link can no longer be used, so we could not finish. "
                 "Please ask for a new link and open it.")
    if result.outcome == "already_enrolled":
        return _("You are enrolled in Shouwang.") + "\n\n" + help_text()
    return _welcome(result.outcome, result.director)


def _welcome(outcome: str, director: str | None) -> str:
    if outcome == "joined":
        first = _("Thank you! You have joined your family in Shouwang.")
    else:
        first = _("Thank you! You are now enrolled in Shouwang.")
    parts = [
        first,
        _("What happens next:\n"
          "• A few times a week you will get a short lesson about caring for children.\n"
          "• Now and then we will ask a few short questions about each child. "
          "They take less than two minutes."),
    ]
    if director:
        parts.append(_("Your child director is {name}. They are there to help you and the children.")
                     .format(name=escape(director)))
    parts.append(_(
        "Useful commands:\n"
        "/help — what you can do\n"
        "/children — your children\n"
        "/invite — invite another person who cares for the children\n"
        "/settings — language, pause lessons"
    ))
    return "\n\n".join(parts)


# ---------------------------------------------------------------- typed answers and other messages


async def on_draft_message(
    message: Message, bot: Bot, session: AsyncSession, i18n: I18n, clock: Clock, draft: Draft,
    guardian: Guardian | None, risk_scanner: RiskScanner, at_once: AtOnce,
) -> None:
    now = clock()
    chat_id = message.chat.id
    step = draft.step
    text = message.text
    if text is not None and await _risk_words(bot, session, i18n, clock, draft, guardian, risk_scanner, chat_id, text,
                                              at_once):
        return
    with draft_locale(i18n, draft):
        skipped = step == enrolment.PHONE and text is not None and text.strip() == kb.skip_word()
    result = enrolment_flow.answer_text(draft, text=text, now=now, skipped=skipped,
                                        contact_phone=message.contact.phone_number if message.contact else None)
    if not result.accepted:
        await _show(bot, session, draft, result, i18n, chat_id, now, typed=True)
        return
    await session.commit()
    if step == enrolment.PHONE:
        # The share-contact keyboard goes away with a short thank-you (a message has one keyboard).
        with draft_locale(i18n, draft):
            await bot.send_message(chat_id, _("Thank you."), reply_markup=kb.no_reply_keyboard())
    await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n)


async def _risk_words(bot: Bot, session: AsyncSession, i18n: I18n, clock: Clock, draft: Draft,
                      guardian: Guardian | None, scanner: RiskScanner, chat_id: int, text: str,
                      at_once: AtOnce) -> bool:
    """Every word typed in a flow is scanned before it is taken as an answer. A hit is not an
    answer: it is kept, the cohort's directors get the alert at once (core decides whose), the
    person gets the safety message, and the question is asked again. Returns whether it hit."""
    now = clock()
    result = await receive_draft_text(session, draft=draft, guardian=guardian, text=text, scanner=scanner, now=now)
    if not result.hit:
        return False
    reserved = None
    if result.stored is not None and result.cohort_id is not None:
        reserved = await reserve_safety_for_address(
            session, address=address_of(chat_id), locale=guardian.locale if guardian else pick_locale(draft.locale),
            guardian_id=guardian.id if guardian else None, cohort_id=result.cohort_id,
            ref=f"text:{result.stored.id}", now=now)
    await session.commit()  # the words and the alert are stored before any reply
    log.info("draft_id=%s risk words at step %s: alert %s", draft.id, draft.step,
             result.alert.id if result.alert else None)
    with draft_locale(i18n, draft):
        if reserved is not None:
            await send_safety(at_once, session, reserved, clock)
        again = _("When you are ready, we can go on.")
    await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n, hint=again)
    return True


def _type_hint(step: str) -> str:
    if step == enrolment.CALL_NAME:
        return _("Please type what the family calls you.")
    if step == enrolment.PHONE:
        return _("Please tap “📱 Share my number”, type your number, or tap “Skip”.")
    if step == enrolment.VILLAGE:
        return _("Please type where your home is, or tap “Skip”.")
    if step == enrolment.CHILD_NICKNAME:
        return _("Please type the child's nickname.")
    if step == enrolment.CHILD_BIRTH_YEAR:
        return _("Please tap a year below, or type a year such as 2018.")
    return _("Please tap a month below, or type a number from 1 to 12.")


def make_router() -> Router:
    router = Router(name="flow")
    router.callback_query.register(on_consent, ConsentCB.filter())
    router.callback_query.register(on_step_button, StepCB.filter())
    router.message.register(on_draft_message, has_draft)
    return router
