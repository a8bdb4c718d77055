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
from bot.handlers.checkins import _send_safety as send_safety
from bot.prompts import draft_locale, send_step
from bot.texts import PLEASE_TAP, both, help_text, invalid_reason
from core.checkin.free_text import receive_draft_text
from core.checkin.risk import RiskScanner
from core.checkin.safety import reserve_safety_for_address
from core.clock import Clock
from core.enrolment import rules
from core.enrolment import service as enrolment
from core.errors import CodeRejected, Conflict, Invalid
from core.models import Draft, Guardian

log = logging.getLogger(__name__)

TEXT_STEPS = (enrolment.CALL_NAME, enrolment.PHONE, enrolment.VILLAGE, enrolment.CHILD_NICKNAME,
              enrolment.CHILD_BIRTH_YEAR, enrolment.CHILD_BIRTH_MONTH)


def has_draft(_event: object, draft: Draft | None) -> bool:
    return draft is not None


def _reason(exc: Invalid) -> str:
    return invalid_reason(exc.code, max=_limit(exc.code))


def _limit(code: str) -> int:
    if code.startswith("call_name"):
        return rules.CALL_NAME_MAX
    if code.startswith("village"):
        return rules.VILLAGE_MAX
    return rules.NICKNAME_MAX if code.startswith("nickname") else rules.MAX_CHILDREN


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
    if callback_data.agree:
        enrolment.accept_consent(draft, version=callback_data.version, now=now)
        await session.commit()
        await callback.answer()
        await send_step(bot, session, draft, chat_id=callback.from_user.id, today=now.date(), i18n=i18n)
        return
    flagged = bool((draft.data or {}).get("flagged_text_ids"))
    await enrolment.decline_consent(session, draft=draft, version=callback_data.version, now=now)
    await session.commit()
    await callback.answer()
    with draft_locale(i18n, draft):
        if flagged:
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
    value = callback_data.value
    try:
        if value == "cancel" and draft.flow in ("add_child", "edit_child", "edit_identity"):
            await enrolment.cancel_draft(session, address=address_of(chat_id))
            await session.commit()
            await bot.send_message(chat_id, _("All right, nothing was changed.") + "\n\n" + help_text())
            return
        if draft.step == enrolment.CONFIRM and value == "yes":
            await _complete(bot, session, draft, guardian, i18n, clock, chat_id)
            return
        _apply_button(draft, value, now)
    except Invalid as exc:
        await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n,
                        hint=_reason(exc))
        return
    except Conflict as exc:
        log.info("draft_id=%s step conflict: %s", draft.id, exc.code)
        await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n,
                        hint=_("That button is from an earlier question."))
        return
    await session.commit()
    await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n)


def _apply_button(draft: Draft, value: str, now: datetime) -> None:
    step = draft.step
    today = now.date()
    if step == enrolment.LANGUAGE:
        enrolment.choose_language(draft, locale=value, now=now)
    elif step == enrolment.RELATIONSHIP:
        enrolment.choose_relationship(draft, relationship=value, now=now)
    elif step == enrolment.RESIDENCE:
        enrolment.choose_residence(draft, lives_with_children=value == "with", now=now)
    elif step == enrolment.PHONE and value == "skip":
        enrolment.enter_phone(draft, text=None, now=now)
    elif step == enrolment.VILLAGE and value == "skip":
        enrolment.enter_village(draft, text=None, now=now)
    elif step == enrolment.CHILD_BIRTH_YEAR:
        enrolment.enter_birth_year(draft, year=rules.parse_year(value), today=today, now=now)
    elif step == enrolment.CHILD_BIRTH_MONTH:
        enrolment.enter_birth_month(draft, month=rules.parse_month(value), today=today, now=now)
    elif step == enrolment.CHILD_SEX:
        enrolment.choose_sex(draft, sex=None if value == "none" else value, now=now)
    elif step == enrolment.MORE_CHILDREN:
        enrolment.more_children(draft, add_another=value == "more", now=now)
    elif step == enrolment.CONFIRM and value == "restart":
        enrolment.restart_children(draft, now=now)
    else:
        raise Conflict("no such answer at this step", code="stale_step")


async def _complete(bot: Bot, session: AsyncSession, draft: Draft, guardian: Guardian | None,
                    i18n: I18n, clock: Clock, chat_id: int) -> None:
    """The last 'yes': store everything, commit, and only then say it is done."""
    now = clock()
    with draft_locale(i18n, draft):
        if draft.flow == "edit_identity":
            if guardian is None:
                raise Conflict("identity flow without a guardian", code="stale_step")
            await enrolment.complete_identity_edit(session, draft=draft, guardian=guardian, now=now)
            await session.commit()
            await bot.send_message(chat_id, _("Saved. Thank you!") + "\n\n"
                                   + _("Send /mydata to see everything we keep about you."))
            return
        if draft.flow in ("add_child", "edit_child"):
            if guardian is None:
                raise Conflict("child flow without a guardian", code="stale_step")
            child = await enrolment.complete_child_draft(session, draft=draft, guardian=guardian, now=now)
            await session.commit()
            done = _("Saved: {nickname}.") if draft.flow == "edit_child" else _("Added: {nickname}.")
            await bot.send_message(chat_id, done.format(nickname=escape(child.nickname)) + "\n\n"
                                   + _("Send /children to see all your children."))
            return
        try:
            enrolled = await enrolment.complete_enrolment(session, draft=draft, now=now)
        except CodeRejected:
            await enrolment.cancel_draft(session, address=address_of(chat_id))
            await session.commit()
            await bot.send_message(chat_id, _(
                "Sorry, this invitation link can no longer be used, so we could not finish. "
                "Please ask for a new link and open it."
            ))
            return
        except Conflict as exc:
            if exc.code != "already_enrolled":
                raise
            await enrolment.cancel_draft(session, address=address_of(chat_id))
            await session.commit()
            await bot.send_message(chat_id, _("You are enrolled in Shouwang.") + "\n\n" + help_text())
            return
        director = await enrolment.primary_director_name(session, cohort_id=enrolled.household.cohort_id)
        await session.commit()
        await bot.send_message(chat_id, _welcome(draft.flow, director))


def _welcome(flow: str, director: str | None) -> str:
    if flow == "join":
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
    guardian: Guardian | None, risk_scanner: RiskScanner,
) -> None:
    now = clock()
    chat_id = message.chat.id
    step = draft.step
    text = message.text
    if text is not None and await _risk_words(bot, session, i18n, clock, draft, guardian, risk_scanner, chat_id, text):
        return
    if step not in TEXT_STEPS:
        hint = both(PLEASE_TAP) if step == enrolment.LANGUAGE else _(PLEASE_TAP)
        await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n, hint=hint)
        return
    if step == enrolment.PHONE and message.contact is not None:
        text = message.contact.phone_number
    if text is None:
        await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n,
                        hint=_type_hint(step))
        return
    try:
        if step == enrolment.CALL_NAME:
            enrolment.enter_call_name(draft, text=text, now=now)
        elif step == enrolment.PHONE:
            with draft_locale(i18n, draft):
                skipped = text.strip() == kb.skip_word()
            enrolment.enter_phone(draft, text=None if skipped else text, now=now)
        elif step == enrolment.VILLAGE:
            enrolment.enter_village(draft, text=text, now=now)
        elif step == enrolment.CHILD_NICKNAME:
            enrolment.enter_nickname(draft, text=text, now=now)
        elif step == enrolment.CHILD_BIRTH_YEAR:
            enrolment.enter_birth_year(draft, year=rules.parse_year(text), today=now.date(), now=now)
        else:
            enrolment.enter_birth_month(draft, month=rules.parse_month(text), today=now.date(), now=now)
    except Invalid as exc:
        with draft_locale(i18n, draft):
            hint = _reason(exc)
        await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n, hint=hint)
        return
    await session.commit()
    if step == enrolment.PHONE:
        # The share-contact keyboard goes away with a short thank-you (a message has one keyboard).
        with draft_locale(i18n, draft):
            await bot.send_message(chat_id, _("Thank you."), reply_markup=kb.no_reply_keyboard())
    await send_step(bot, session, draft, chat_id=chat_id, today=now.date(), i18n=i18n)


async def _risk_words(bot: Bot, session: AsyncSession, i18n: I18n, clock: Clock, draft: Draft,
                      guardian: Guardian | None, scanner: RiskScanner, chat_id: int, text: str) -> bool:
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
            session, address=address_of(chat_id), locale=guardian.locale if guardian else (draft.locale or "zh-Hans"),
            guardian_id=guardian.id if guardian else None, cohort_id=result.cohort_id,
            ref=f"text:{result.stored.id}", now=now)
    await session.commit()  # the words and the alert are stored before any reply
    log.info("draft_id=%s risk words at step %s: alert %s", draft.id, draft.step,
             result.alert.id if result.alert else None)
    with draft_locale(i18n, draft):
        if reserved is not None:
            await send_safety(bot, session, chat_id, reserved, clock)
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
