"""The directors' inbox on the phone. Guardians: whatever they send outside a flow or a question
is committed as an inbox item before any reply (core.inbox), the words scanned first; they are
told honestly where it went, and asked which child it is about when the household has several.
Directors: the card's buttons (reply, call noted, done), the reply typed or recorded as a voice
note, and /inbox. Acting on an item updates every director's card of it at once."""
from __future__ import annotations

import logging

from aiogram import Bot, F, Router
from aiogram.exceptions import TelegramAPIError
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import CHANNEL, address_of
from bot.handlers.checkins import send_safety
from bot.inbox_render import (
    inbox_card_html, inbox_list_html, not_shown_reply, relay_text, sent_to_director, sticker_reply,
    which_child_question,
)
from bot.keyboards.alerts import PromptCB
from bot.middlewares.refusals import STAFF, Refusal, staff_refusal
from bot.risk_reply import orange_reply_html
from bot.keyboards.inbox import InboxCB, InboxChildCB, inbox_card_keyboard, open_items_keyboard, which_child_keyboard
from core.access import scope_for
from core.alerts.prompts import clear_prompt, pending_prompt, set_prompt
from core.checkin.risk import RiskScanner
from core.checkin.safety import reserve_safety_message
from core.clock import Clock
from core.errors import DomainError, Invalid
from core.flows import delivery as delivery_flow
from core.flows import inbox as inbox_flows
from core.inbox import service as inbox
from core.inbox.views import director_contact, inbox_card
from core.models import Guardian, InboxItem, Staff
from core.models.enums import GuardianStatus
from core.flows.delivery import AtOnce

log = logging.getLogger(__name__)

REPLY_PROMPT = "inbox_reply"


def incoming_of(message: Message) -> inbox.Incoming | None:
    """What the guardian sent, as the inbox keeps it (a reference, never the file). None for a
    sticker: it carries no words, and forwarding every 👍 would bury the directors' phones."""
    base = {"address": address_of(message.chat.id), "message_id": str(message.message_id),
            "text": message.text or message.caption}
    if message.text:
        return inbox.Incoming(kind="text", **base)
    if message.sticker:
        return None
    for kind, media, default in (("voice", message.voice, "audio/ogg"), ("video", message.video, "video/mp4"),
                                 ("video_note", message.video_note, "video/mp4"), ("audio", message.audio, "audio/mpeg"),
                                 ("document", message.document, "application/octet-stream")):
        if media is not None:
            return inbox.Incoming(kind=kind, file_unique_id=media.file_unique_id,
                                  media_type=getattr(media, "mime_type", None) or default, **base)
    if message.photo:
        return inbox.Incoming(kind="photo", file_unique_id=message.photo[-1].file_unique_id, media_type="image/jpeg",
                              **base)
    return inbox.Incoming(kind="other", **base)  # a location, a contact, a poll…: kept, but not shown


async def take_in(message: Message, bot: Bot, session: AsyncSession, guardian: Guardian, clock: Clock,
                  risk_scanner: RiskScanner, at_once: AtOnce) -> None:
    """Keep it, put it before the directors, and tell the guardian honestly what happened."""
    incoming = incoming_of(message)
    if incoming is None:
        await message.answer(sticker_reply())
        return
    now = clock()
    received = await inbox.receive(session, guardian=guardian, incoming=incoming, scanner=risk_scanner, now=now)
    reserved = None
    red = received.urgent and received.scan is not None and received.scan.scan.severity == "red"
    if red and received.scan is not None and received.scan.stored is not None:
        reserved = await reserve_safety_message(session, guardian=guardian, cohort_id=received.item.cohort_id,
                                                ref=f"text:{received.scan.stored.id}", now=now)
    contact = await director_contact(session, cohort_id=received.item.cohort_id)
    children = [(c.id, c.nickname) for c in received.ask_child]
    await session.commit()  # the item, its words, any alert and the forwards are stored before any reply
    if reserved is not None:
        await send_safety(at_once, session, reserved, clock)
    if children:
        await message.answer(which_child_question(), reply_markup=which_child_keyboard(received.item.id, children))
        return
    if red:
        return  # the safety message is the reply: it names the director and 110/120
    if received.urgent:  # orange: the alert is raised; the director reads it today
        await message.answer(orange_reply_html(contact.name))
        return
    if incoming.kind == "other":
        await message.answer(not_shown_reply(contact))
    else:
        await message.answer(sent_to_director(contact))
    if guardian.status == GuardianStatus.stopped:  # their words went on; the programme's messages stay off
        await message.answer(_("You have stopped all messages. To start again, send /start."))


EARLIER_QUESTION = Refusal(default=__("That button is from an earlier question."))


async def on_which_child(callback: CallbackQuery, callback_data: InboxChildCB, bot: Bot, session: AsyncSession,
                         guardian: Guardian | None, clock: Clock) -> None:
    if guardian is None:
        await callback.answer(_("That button is from an earlier question."))
        return
    item = await inbox.choose_child(session, guardian=guardian, item_id=callback_data.item_id,
                                    child_id=callback_data.child_id, now=clock())
    contact = await director_contact(session, cohort_id=item.cohort_id)
    urgent = item.alert_id is not None
    await session.commit()
    await callback.answer()
    if callback.message is not None:
        try:
            await bot.edit_message_reply_markup(chat_id=callback.from_user.id,
                                                message_id=callback.message.message_id, reply_markup=None)
        except TelegramAPIError:
            pass
    if not urgent:
        await bot.send_message(callback.from_user.id, sent_to_director(contact))
    else:
        await bot.send_message(callback.from_user.id, _("Thank you. The child director has been told."))


# ---------------------------------------------------------------- directors


async def _redraw_cards(session: AsyncSession, at_once: AtOnce, item: InboxItem, clock: Clock) -> None:
    """Every staff card of this item (and of the alert it raised, if that changed with it) shows
    where it stands now: the edits the action queued (cards=True) go out now through the port;
    what fails is retried by the sender."""
    now = clock()
    rows = await delivery_flow.inbox_card_edits(session, item_id=item.id, now=now)
    if item.escalation_alert_id is not None:
        rows += await delivery_flow.alert_card_edits(session, alert_id=item.escalation_alert_id, now=now)
    await delivery_flow.deliver_now(session, at_once, rows, clock=clock, channels=(CHANNEL,))


async def on_inbox_button(callback: CallbackQuery, callback_data: InboxCB, bot: Bot, session: AsyncSession,
                          staff: Staff, clock: Clock, at_once: AtOnce) -> None:
    scope = await scope_for(session, staff)
    chat_id = callback.from_user.id
    now = clock()
    action = callback_data.action
    if action == "done":
        item, first = await inbox_flows.mark_done(session, scope=scope, item_id=callback_data.item_id, now=now,
                                                  cards=True)
        await session.commit()
        await callback.answer(_("Marked done. Thank you.") if first else _("This message is already done."))
        await _redraw_cards(session, at_once, item, clock)
        return
    if action == "call":
        item = await inbox.note_call(session, scope=scope, item_id=callback_data.item_id, now=now, cards=True)
        await session.commit()
        await callback.answer(_("Call noted."))
        await _redraw_cards(session, at_once, item, clock)
        return
    if action == "reply":
        item = await inbox.get_item(session, scope=scope, item_id=callback_data.item_id)
        scope.require_change(item.cohort_id)
        await set_prompt(session, staff_id=staff.id, address=address_of(chat_id), kind=REPLY_PROMPT, now=now,
                         household_id=item.household_id, data={"item_id": item.id})
        await session.commit()
        await callback.answer()
        await bot.send_message(chat_id, _("Type your reply to the family, or record a voice note. They will get "
                                          "it as “{name} replied to you: …”.").format(name=staff.display_name),
                               reply_markup=_cancel_keyboard())
        return
    item = await inbox.read_item(session, scope=scope, item_id=callback_data.item_id, now=now)
    await session.commit()
    await callback.answer()
    card = await inbox_card(session, item=item, now=now)
    await bot.send_message(chat_id, inbox_card_html(card), reply_markup=inbox_card_keyboard(item.id, item.state))


def _cancel_keyboard():  # type: ignore[no-untyped-def]
    from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup

    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=_("Cancel"), callback_data=PromptCB(action="cancel").pack())]])


async def has_reply_prompt(message: Message, session: AsyncSession, staff: Staff | None, clock: Clock) -> bool:
    if staff is None:
        return False
    prompt = await pending_prompt(session, address=address_of(message.chat.id), now=clock())
    return prompt is not None and prompt.kind == REPLY_PROMPT


async def on_reply(message: Message, bot: Bot, session: AsyncSession, staff: Staff, clock: Clock) -> None:
    prompt = await pending_prompt(session, address=address_of(message.chat.id), now=clock())
    assert prompt is not None
    item_id = int((prompt.data or {}).get("item_id") or 0)
    voice = (address_of(message.chat.id), str(message.message_id), message.voice.file_unique_id) if message.voice \
        else None
    if message.text is None and voice is None:
        await message.answer(_("Please type your reply, or record a voice note."))
        return
    scope = await scope_for(session, staff)
    try:
        sent = await inbox.reply(session, scope=scope, item_id=item_id, text=message.text, voice=voice, now=clock())
    except Invalid as exc:  # e.g. too long: the question stays open for a shorter reply
        await message.answer(_("That could not be sent: {reason}").format(
            reason=_("it is empty or too long.") if exc.code in ("reply_empty", "reply_too_long") else exc.message))
        return
    except DomainError as exc:  # the question is over: cleared (and committed) before we say why
        await clear_prompt(session, address=address_of(message.chat.id))
        await session.commit()
        await message.answer(staff_refusal(exc))
        return
    await clear_prompt(session, address=address_of(message.chat.id))
    await session.commit()
    if sent.status == inbox.UNDELIVERED:
        await message.answer(_("This family cannot be reached here any more (they blocked the bot or left). "
                               "Please call or visit them."))
        return
    preview = relay_text(staff.display_name, message.text)
    await message.answer(_("Sent. The family will see:") + "\n" + preview)


async def on_inbox_command(message: Message, session: AsyncSession, staff: Staff, clock: Clock) -> None:
    scope = await scope_for(session, staff)
    now = clock()
    items = await inbox.list_items(session, scope=scope, now=now, limit=20)
    cards = [await inbox_card(session, item=item, now=now) for item in items]
    await session.commit()
    buttons = [(c.item_id, _("Open inbox #{id}").format(id=c.item_id)) for c in cards[:10]]
    await message.answer(inbox_list_html(cards), reply_markup=open_items_keyboard(buttons))


def is_staff(_event: object, staff: Staff | None) -> bool:
    return staff is not None


def make_router() -> Router:
    router = Router(name="inbox")
    router.callback_query.register(on_which_child, InboxChildCB.filter(), flags={"refusal": EARLIER_QUESTION})
    router.message.register(on_inbox_command, Command("inbox"), is_staff)
    router.message.register(on_reply, is_staff, has_reply_prompt, ~F.text.startswith("/"))
    router.callback_query.register(on_inbox_button, InboxCB.filter(), is_staff, flags={"refusal": STAFF})
    return router
