"""Staff on the phone: alert cards and their buttons (acknowledge, log a call or visit, refer,
resolve), the short note that follows, and /alerts, /case, /roster, /visits. Every change is
committed before the reply, and every card of the alert — the other directors' too — is
updated, so a second director sees at once that the first acknowledged."""
from __future__ import annotations

import logging
from zoneinfo import ZoneInfo

from aiogram import Bot, F, Router
from aiogram.filters import Command, CommandObject
from aiogram.types import BotCommand, CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import CHANNEL, address_of
from bot.alert_render import METHODS, OUTCOMES, REFERRALS, alert_list_html, card_html, case_html, roster_html, \
    staff_help, visits_html
from bot.keyboards.alerts import (
    AlertCB, CaseCB, ContactCB, OutcomeCB, PromptCB, ReferCB, card_keyboard, case_keyboard, methods_keyboard,
    note_keyboard, open_alerts_keyboard, outcomes_keyboard, referrals_keyboard, visits_keyboard,
)
from bot.middlewares.refusals import STAFF, Refusal, staff_refusal
from bot.texts import INVALID_REASONS, N_
from core.access import Scope, scope_for
from core.alerts import cases, queries
from core.alerts.prompts import clear_prompt, pending_prompt, set_prompt
from core.alerts.views import alert_card
from core.clock import Clock
from core.people import clean_phone, display_phone
from core.errors import DomainError, Invalid
from core.flows import delivery as delivery_flow
from core.flows import director as director_flow
from core.models import Delivery, StaffPrompt, Staff
from core.flows.delivery import AtOnce
from core.staff import service as staff_service
from core.staff.schemas import StaffUpdate

log = logging.getLogger(__name__)


def is_staff(_event: object, staff: Staff | None) -> bool:
    return staff is not None


async def has_prompt(message: Message, session: AsyncSession, staff: Staff | None, clock: Clock) -> bool:
    return staff is not None and await pending_prompt(session, address=address_of(message.chat.id), now=clock()) is not None


async def _tz(session: AsyncSession, scope: Scope) -> ZoneInfo:
    first = min(scope.cohort_ids) if scope.cohort_ids else None
    return ZoneInfo(await queries.cohort_timezone(session, first))


async def _redraw_cards(session: AsyncSession, at_once: AtOnce, rows: list[Delivery], clock: Clock) -> None:
    """Every staff card of the alert shows where it stands now, in each reader's language: the
    edits the action queued (cards=True, lane 0) go out now through the port, so the one who
    tapped sees it at once; what fails is retried by the sender."""
    await delivery_flow.deliver_now(session, at_once, rows, clock=clock, channels=(CHANNEL,))


async def on_alert_button(callback: CallbackQuery, callback_data: AlertCB, bot: Bot, session: AsyncSession,
                          staff: Staff, clock: Clock, at_once: AtOnce) -> None:
    scope = await scope_for(session, staff)
    chat_id = callback.from_user.id
    action = callback_data.action
    if action == "ack":
        # cards=True: every card's edit is queued; sent below, at once.
        done = await cases.acknowledge(session, scope=scope, alert_id=callback_data.alert_id, now=clock(),
                                       cards=True)
        edits = await delivery_flow.alert_card_edits(session, alert_id=done.alert.id, now=clock())
        await session.commit()
        if done.first:
            await callback.answer(_("Acknowledged. Thank you."))
        else:
            card = await alert_card(session, alert=done.alert, locale=staff.locale, now=clock())
            await callback.answer(_("Already acknowledged by {name} at {time}.").format(
                name=card.acknowledged_by or "?", time=card.acknowledged_local or ""), show_alert=True)
        await _redraw_cards(session, at_once, edits, clock)
        return
    alert = await cases._alert(session, scope, callback_data.alert_id)  # scoped: another cohort's is not found
    await callback.answer()
    if action == "open":
        card = await alert_card(session, alert=alert, locale=staff.locale, now=clock())
        await bot.send_message(chat_id, card_html(card), reply_markup=card_keyboard(alert.id, alert.status))
    elif alert.status == "resolved":
        await bot.send_message(chat_id, _("This alert is already resolved."))
    elif action == "contact":
        await bot.send_message(chat_id, _("How did you get in touch with the family?"),
                               reply_markup=methods_keyboard("alert", alert.id))
    elif action == "refer":
        await bot.send_message(chat_id, _("Where are you referring the child?"), reply_markup=referrals_keyboard(alert.id))
    elif action == "resolve":
        await bot.send_message(chat_id, _("How did it end?"), reply_markup=outcomes_keyboard(alert.id))


NOTE_PROMPT = N_("Type a short note: what you found and what was agreed. Or tap “Skip the note”.")


async def _ask_note(bot: Bot, chat_id: int, lead: str) -> None:
    await bot.send_message(chat_id, lead + "\n\n" + _(NOTE_PROMPT), reply_markup=note_keyboard())


async def on_contact_method(callback: CallbackQuery, callback_data: ContactCB, bot: Bot, session: AsyncSession,
                            staff: Staff, clock: Clock) -> None:
    target, target_id = callback_data.target, callback_data.target_id
    if not callback_data.method:  # from /visits: first choose how
        await callback.answer()
        await bot.send_message(callback.from_user.id, _("How did you get in touch with the family?"),
                               reply_markup=methods_keyboard(target, target_id))
        return
    ids = {"alert_id": target_id if target == "alert" else None, "case_id": target_id if target == "case" else None,
           "household_id": target_id if target == "household" else None}
    await set_prompt(session, staff_id=staff.id, address=address_of(callback.from_user.id), kind="contact", now=clock(),
                     data={"method": callback_data.method}, **ids)
    await session.commit()
    await callback.answer()
    await _ask_note(bot, callback.from_user.id, str(METHODS.get(callback_data.method, callback_data.method)))


async def on_refer_target(callback: CallbackQuery, callback_data: ReferCB, bot: Bot, session: AsyncSession,
                          staff: Staff, clock: Clock) -> None:
    await set_prompt(session, staff_id=staff.id, address=address_of(callback.from_user.id), kind="referral", now=clock(),
                     alert_id=callback_data.alert_id, data={"to": callback_data.to})
    await session.commit()
    await callback.answer()
    lead = _("Referral to: {to}").format(to=str(REFERRALS.get(callback_data.to, callback_data.to)))
    if callback_data.to == "police":
        lead += "\n" + _("If the child is in danger now, call 110 first. This record does not replace the report "
                         "you must make as a mandated reporter.")
    await _ask_note(bot, callback.from_user.id, lead)


async def on_outcome(callback: CallbackQuery, callback_data: OutcomeCB, bot: Bot, session: AsyncSession,
                     staff: Staff, clock: Clock) -> None:
    await set_prompt(session, staff_id=staff.id, address=address_of(callback.from_user.id), kind="resolve", now=clock(),
                     alert_id=callback_data.alert_id, data={"outcome": callback_data.outcome})
    await session.commit()
    await callback.answer()
    await _ask_note(bot, callback.from_user.id,
                    _("Outcome: {outcome}").format(outcome=str(OUTCOMES.get(callback_data.outcome, ""))))


async def on_case_note_button(callback: CallbackQuery, callback_data: CaseCB, bot: Bot, session: AsyncSession,
                              staff: Staff, clock: Clock) -> None:
    await set_prompt(session, staff_id=staff.id, address=address_of(callback.from_user.id), kind="note", now=clock(),
                     case_id=callback_data.case_id)
    await session.commit()
    await callback.answer()
    await bot.send_message(callback.from_user.id, _("Type the note for case #{id}.").format(id=callback_data.case_id),
                           reply_markup=note_keyboard())


async def _carry_out(prompt: StaffPrompt, note: str | None, at_once: AtOnce, session: AsyncSession,
                     staff: Staff, clock: Clock) -> str:
    """Do what the prompt was for, with the note (or none) — core.flows.director — then commit,
    redraw the alert's cards and return the reply."""
    done = await director_flow.carry_out(session, scope=await scope_for(session, staff), prompt=prompt, note=note,
                                         now=clock())
    if done.kind == "note_needed":
        return _("Please type the note, or tap Cancel.")
    edits = [] if done.alert_id is None else await delivery_flow.alert_card_edits(
        session, alert_id=done.alert_id, now=clock())
    await session.commit()
    await _redraw_cards(session, at_once, edits, clock)
    return _done_reply(done)


def _done_reply(done: director_flow.Done) -> str:
    if done.kind == "contact":
        method = str(METHODS.get(done.method or "", done.method))
        return (_("Saved: {method}. Case #{id}.").format(method=method, id=done.case_id) if done.case_id
                else _("Saved: {method}.").format(method=method))
    if done.kind == "referral":
        to = str(REFERRALS.get(done.to or "", done.to))
        return (_("Saved: referral to {to}. Case #{id}.").format(to=to, id=done.case_id) if done.case_id
                else _("Saved: referral to {to}.").format(to=to))
    if done.kind == "resolved":
        if not done.case_closed:
            return _("Resolved. The case stays open: it has other alerts.")
        if done.followup_due is not None:
            return _("Resolved. Case #{id} is closed. A follow-up check-in goes to the family on {date}; "
                     "you will see the result.").format(id=done.case_id, date=done.followup_due.strftime("%m-%d"))
        return _("Resolved. Case #{id} is closed.").format(id=done.case_id)
    return _("Note added to case #{id}.").format(id=done.case_id)


async def on_prompt_button(callback: CallbackQuery, callback_data: PromptCB, bot: Bot, session: AsyncSession,
                           staff: Staff, clock: Clock, at_once: AtOnce) -> None:
    chat_id = callback.from_user.id
    prompt = await pending_prompt(session, address=address_of(chat_id), now=clock())
    if callback_data.action == "cancel" or prompt is None:
        await clear_prompt(session, address=address_of(chat_id))
        await session.commit()
        await callback.answer()
        await bot.send_message(chat_id, _("All right, nothing was saved."))
        return
    try:
        reply = await _carry_out(prompt, None, at_once, session, staff, clock)
    except DomainError as exc:  # the question is over either way
        await clear_prompt(session, address=address_of(chat_id))
        await session.commit()
        await callback.answer(staff_refusal(exc), show_alert=True)
        return
    await callback.answer()
    await bot.send_message(chat_id, reply)


async def on_prompt_text(message: Message, bot: Bot, session: AsyncSession, staff: Staff, clock: Clock,
                         at_once: AtOnce) -> None:
    prompt = await pending_prompt(session, address=address_of(message.chat.id), now=clock())
    assert prompt is not None  # the filter saw it
    if not message.text:
        await message.answer(_("Please type the note as words, or tap “Skip the note”."))
        return
    try:
        reply = await _carry_out(prompt, message.text, at_once, session, staff, clock)
    except Invalid as exc:  # e.g. too long: the question stays open for a shorter note
        await message.answer(_("That could not be saved: {reason}").format(reason=staff_refusal(exc)))
        return
    except DomainError as exc:  # the question is over: cleared (and committed) before we say why
        await clear_prompt(session, address=address_of(message.chat.id))
        await session.commit()
        await message.answer(_("That could not be saved: {reason}").format(reason=staff_refusal(exc)))
        return
    await message.answer(reply)


# ---------------------------------------------------------------- commands


async def on_alerts(message: Message, session: AsyncSession, staff: Staff, clock: Clock) -> None:
    scope = await scope_for(session, staff)
    lines = await queries.open_alerts(session, scope=scope, now=clock())
    tz = await _tz(session, scope)
    buttons = [(line.alert.id, _("Open case #{id}").format(id=line.alert.case_id)
                + (f" · {line.nickname}" if line.nickname else "")) for line in lines[:10]]
    await message.answer(alert_list_html(lines, tz), reply_markup=open_alerts_keyboard(buttons))


# /case: any refusal (another cohort's case looks like none) says there is no such case.
NO_CASE = Refusal(default=__("There is no case #{id} in your groups."))


async def on_case(message: Message, command: CommandObject, session: AsyncSession, staff: Staff,
                  clock: Clock, refusal_args: dict[str, object]) -> None:
    arg = refusal_args["id"] = (command.args or "").strip().lstrip("#")
    if not arg.isdigit() or len(arg) > 9:
        await message.answer(_("Send the case number after the command, for example: /case 12"))
        return
    scope = await scope_for(session, staff)
    history = await queries.case_history(session, scope=scope, case_id=int(arg), now=clock())
    await message.answer(case_html(history, await _tz(session, scope)), reply_markup=case_keyboard(history.case.id))


async def on_roster(message: Message, session: AsyncSession, staff: Staff, clock: Clock) -> None:
    scope = await scope_for(session, staff)
    lines = await queries.roster(session, scope=scope, now=clock())
    await message.answer(roster_html(lines, await _tz(session, scope)))


async def on_visits(message: Message, session: AsyncSession, staff: Staff, clock: Clock) -> None:
    scope = await scope_for(session, staff)
    lines = await queries.visits_due(session, scope=scope, now=clock())
    await message.answer(visits_html(lines, await _tz(session, scope)),
                         reply_markup=visits_keyboard([line.household_id for line in lines]))


STAFF_COMMANDS = (
    ("alerts", N_("Open alerts, most severe first")),
    ("inbox", N_("Messages from families")),
    ("case", N_("A case's history: /case 12")),
    ("roster", N_("Your families")),
    ("visits", N_("Families due a visit")),
    ("checknow", N_("Send a family the check-in now: /checknow 12 why")),
    ("myphone", N_("Your phone number for families")),
    ("help", N_("What you can do")),
)


def staff_commands() -> list[BotCommand]:
    return [BotCommand(command=name, description=_(description)) for name, description in STAFF_COMMANDS]


# /myphone: a number that is none.
MY_PHONE = Refusal(kinds={Invalid: INVALID_REASONS["phone_invalid"]})


async def on_myphone(message: Message, command: CommandObject, session: AsyncSession, staff: Staff,
                     clock: Clock) -> None:
    """/myphone 13812345678 sets the number; /myphone show | hide says whether the families of
    their groups see it (in the safety message and replies); /myphone alone says where it stands.
    Audited like any staff change."""
    arg = (command.args or "").strip()
    if arg.lower() in ("show", "hide", "显示", "隐藏"):
        show = arg.lower() in ("show", "显示")
        if show and not staff.phone:
            await message.answer(_("First send your number, for example: /myphone 13812345678"))
            return
        await staff_service.update_staff(session, staff_id=staff.id, data=StaffUpdate(phone_visible=show),
                                         actor_id=staff.id, now=clock())
    elif arg:
        # Checked first, so that no text is too long for the update's own checks.
        await staff_service.update_staff(session, staff_id=staff.id, data=StaffUpdate(phone=clean_phone(arg)),
                                         actor_id=staff.id, now=clock())
    await session.commit()
    if not staff.phone:
        text = _("You have not given a phone number. Send it like this: /myphone 13812345678")
    elif staff.phone_visible:
        text = _("Your number {phone} is shown to the families of your groups, in the safety message and in "
                 "replies. Send /myphone hide to stop.").format(phone=display_phone(staff.phone))
    else:
        text = _("Your number {phone} is kept, but families do not see it. Send /myphone show to let the "
                 "families of your groups see it.").format(phone=display_phone(staff.phone))
    await message.answer(text)


async def on_staff_help(message: Message) -> None:
    await message.answer(staff_help())


def make_router() -> Router:
    router = Router(name="director")
    router.message.filter(is_staff)
    router.callback_query.filter(is_staff)
    router.message.register(on_alerts, Command("alerts"))
    router.message.register(on_case, Command("case"), flags={"refusal": NO_CASE})
    router.message.register(on_roster, Command("roster"))
    router.message.register(on_visits, Command("visits"))
    router.message.register(on_staff_help, Command("help"))
    router.message.register(on_myphone, Command("myphone"), flags={"refusal": MY_PHONE})
    router.message.register(on_prompt_text, has_prompt, ~F.text.startswith("/"))
    router.callback_query.register(on_alert_button, AlertCB.filter(), flags={"refusal": STAFF})
    router.callback_query.register(on_contact_method, ContactCB.filter())
    router.callback_query.register(on_refer_target, ReferCB.filter())
    router.callback_query.register(on_outcome, OutcomeCB.filter())
    router.callback_query.register(on_prompt_button, PromptCB.filter())
    router.callback_query.register(on_case_note_button, CaseCB.filter())
    return router
