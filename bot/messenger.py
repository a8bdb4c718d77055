"""core.ports.Messenger over the Bot API: renders outbox rows in the recipient's language and
maps Telegram's answers to outcomes the sender understands (sent, 429, 403, retry, give up)."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any, NamedTuple, Union, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import (
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
)
from aiogram.methods import SendMessage
from aiogram.methods.base import Response
from aiogram.types import FSInputFile, InlineKeyboardMarkup, Message
from aiogram.utils.i18n import I18n
from aiohttp import ClientError

from bot.addresses import chat_of, is_telegram
from bot.alert_render import card_html, followup_result_html, household_left_html, reminder_html
from bot.inbox_render import digest_html, inbox_card_html, news_html, not_shown_reply, relay_text
from bot.keyboards.alerts import card_keyboard
from bot.keyboards.inbox import inbox_card_keyboard, news_keyboard
from bot.console_render import signin_html
from bot.checkin_render import (
    answered_by_other_html, being_answered_html, closed_html, question_html, reminder_lead, safety_html,
)
from bot.keyboards.checkins import question_keyboard
from bot.keyboards.lessons import feedback_markup, tried_markup
from bot.lesson_render import CAPTION_LIMIT, campaign_html, followup_html, lesson_html
from bot.notice_render import guardian_left_html, invite_used_html
from bot.retry import ReplyRetry, in_outbox_request, outbox_request
from core.alerts.views import AlertCard
from core.checkin.safety import SafetyMessage
from core.checkin.views import QuestionView
from core.inbox.recordings import is_recording, media_type_of
from core.inbox.views import DirectorContact, InboxCard
from core.locales import to_babel
from core.messages import (
    AlertNewsPayload, AlertPayload, AlertUpdatePayload, CampaignPayload, CheckinClosedPayload, CheckinPayload,
    CheckinTakenPayload, ConsoleSigninPayload, FollowupResultPayload, GuardianLeftPayload, HouseholdLeftPayload,
    InboxDigestPayload, InboxForwardPayload, InboxNoticePayload, InboxRelayPayload, InboxUpdatePayload,
    InviteUsedPayload, LessonFollowupPayload, LessonPayload, MessageKind, SafetyPayload, content_of,
)
from core.ports import Capabilities, Outgoing, SendOutcome

log = logging.getLogger(__name__)

# aiogram validates every answer as Response[<returned type>]; pydantic caches those generic
# classes only weakly, so under load they were rebuilt again and again (9% of the sender's time
# at 1,000 msg/s in py-spy). Held here, they are built once.
_RESPONSE_TYPES = (Response[Message], Response[Union[Message, bool]], Response[bool])


# Telegram carries every kind: edits, inline buttons, 4,096 characters a message, photos, voice
# and audio, and a bot may write to a chat that started it at any time.
CAPABILITIES = Capabilities(can_edit=True, buttons=True, max_text=4096,
                            media=frozenset({"image", "voice", "audio"}), reply_window=None,
                            unsupported=frozenset())

# Edits Telegram refuses because there is nothing left to change: the text is already what we
# send, or the message is too old or gone. The edit has done what it could: counted as sent.
_EDIT_SETTLED = ("not modified", "message can't be edited", "message to edit not found")


class _UnknownKind(Exception):
    pass


class Sent(NamedTuple):
    """What a lean send answers: the new message's id, all the sender keeps of it."""

    message_id: int


_JSON_HEADERS = {"Content-Type": "application/json"}


def _lean_session(bot: Bot) -> AiohttpSession | None:
    """The bot's aiohttp session when the outbox sender may post on it directly: production's
    own session class (not a test's mocked one), inside outbox_request() (the sender's calls),
    and no request middleware but ReplyRetry, which lets outbox requests through untouched."""
    session = bot.session
    if type(session) is not AiohttpSession or not in_outbox_request():
        return None
    if any(not isinstance(m, ReplyRetry) for m in session.middleware[:]):
        return None
    return session


async def send_text(bot: Bot, chat_id: int, text: str, *,
                    reply_markup: InlineKeyboardMarkup | dict[str, Any] | None = None,
                    allow_paid_broadcast: bool | None = None) -> Message | Sent:
    """sendMessage for the outbox sender's bulk sends (lessons as text, follow-ups, campaigns);
    `reply_markup` may come as the Bot API's JSON already (then no models are built on this path).

    On the production session it is posted as JSON on the bot's own aiohttp session (the same
    connection pool, keep-alive and timeout as aiogram's calls), without aiogram's per-request
    model work: building and form-encoding the method and validating the whole answer as a
    Message took ~0.45 of the ~0.75 ms of CPU aiogram spends per message (scripts/bench_push.py,
    issue #16). An answer that is not ok goes through aiogram's own check_response, so a 429
    (TelegramRetryAfter with retry_after), 403, 400, 5xx or anything else raise exactly what
    bot.send_message raises; a timeout or a connection error is TelegramNetworkError, as there.
    Anywhere else (a mocked session, a reply outside the sender) it is bot.send_message."""
    paid = {"allow_paid_broadcast": True} if allow_paid_broadcast else {}
    markup = reply_markup if isinstance(reply_markup, dict) else None  # JSON already (bot.keyboards.lessons)

    def keyboard() -> InlineKeyboardMarkup | None:
        return InlineKeyboardMarkup.model_validate(markup) if markup is not None else cast(
            "InlineKeyboardMarkup | None", reply_markup)

    session = _lean_session(bot)
    if session is None:
        return await bot.send_message(chat_id, text, reply_markup=keyboard(), **paid)
    params: dict[str, Any] = {"chat_id": chat_id, "text": text, **paid}
    if bot.default.parse_mode is not None:
        params["parse_mode"] = bot.default.parse_mode
    if markup is not None:
        params["reply_markup"] = markup
    elif isinstance(reply_markup, InlineKeyboardMarkup):
        params["reply_markup"] = reply_markup.model_dump(mode="json", exclude_none=True, warnings=False)

    def method() -> SendMessage:  # only for an answer that is not ok: aiogram's errors carry it
        return SendMessage(chat_id=chat_id, text=text, reply_markup=keyboard(), **paid)

    http = await session.create_session()
    try:
        async with http.post(session.api.api_url(token=bot.token, method="sendMessage"),
                             data=session.json_dumps(params), headers=_JSON_HEADERS,
                             timeout=session.timeout) as resp:  # type: ignore[arg-type]  # as aiogram passes it
            status, raw = resp.status, await resp.text()
    except asyncio.TimeoutError as exc:
        raise TelegramNetworkError(method=method(), message="Request timeout error") from exc
    except ClientError as exc:
        raise TelegramNetworkError(method=method(), message=f"{type(exc).__name__}: {exc}") from exc
    if status == 200:
        try:
            answer = session.json_loads(raw)
            if answer.get("ok") is True:
                return Sent(int(answer["result"]["message_id"]))
        except (ValueError, KeyError, TypeError, AttributeError):
            pass  # not what Telegram answers: aiogram's check says what it is
    return cast(Message, session.check_response(bot=bot, method=method(), status_code=status, content=raw).result)


def _kept(chat: int, message_id: str | int) -> Message:
    """The message an edit meant, when Telegram answered with no new message."""
    return Message.model_validate({"message_id": int(message_id), "date": 0, "chat": {"id": chat, "type": "private"}})


class TelegramMessenger:
    capabilities = CAPABILITIES

    def __init__(self, bot: Bot, i18n: I18n, *, media_root: Path, recordings_root: Path | None = None) -> None:
        self.bot = bot
        self.i18n = i18n
        self.media_root = media_root
        self.recordings_root = recordings_root  # voice messages recorded on the web pages

    async def deliver(self, item: Outgoing) -> SendOutcome:
        if not is_telegram(item.address):  # the sender routes by channel: a bug, not a retry
            return SendOutcome(status="permanent", error=f"not a telegram address: {item.channel}")
        try:
            # Scheduled pushes have no incoming update: set the i18n context and the locale here.
            # outbox_request: a 429 comes back here as an outcome (the sender pauses and requeues).
            with self.i18n.context(), self.i18n.use_locale(to_babel(item.locale)), outbox_request():
                if item.kind == MessageKind.INBOX_FORWARD:
                    message, copied = await self._forward(item)
                    if not copied:
                        return SendOutcome(status="sent", message_id=str(message.message_id), error="copy_refused")
                else:
                    message = await self._send(item)
        except _UnknownKind as exc:  # a bug or a newer row kind: retrying cannot help
            return SendOutcome(status="permanent", error=f"no renderer for kind {exc.args[0]!r}")
        except TelegramRetryAfter as exc:
            return SendOutcome(status="rate_limited", retry_after=float(exc.retry_after), error="rate_limited")
        except TelegramForbiddenError:
            return SendOutcome(status="blocked", error="forbidden")
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower():
                return SendOutcome(status="blocked", error="chat_not_found")
            return SendOutcome(status="permanent", error=f"bad_request: {exc.message[:120]}")
        except TelegramServerError as exc:
            return SendOutcome(status="transient", error=f"server_error: {exc.message[:120]}")
        except TelegramNetworkError:
            return SendOutcome(status="transient", error="network_error")
        except TelegramAPIError as exc:
            return SendOutcome(status="permanent", error=f"api_error: {exc.message[:120]}")
        return SendOutcome(status="sent", message_id=str(message.message_id))

    async def _forward(self, item: Outgoing) -> tuple[Message, bool]:
        """A guardian's message as it is (copyMessage: nothing is downloaded), then the card
        under it. When Telegram will not copy it, the card alone says it could not be shown."""
        content = content_of(item.content, InboxForwardPayload)
        chat = chat_of(item.address)
        card = InboxCard.from_payload(content["card"])
        copied_id = None
        copy = content.get("copy")
        if copy and not is_telegram(copy.get("from_address")):
            copy = None  # a message on another channel cannot be copied here: the card alone says so
            for line in card.thread:
                if line.id == card.carries_message_id:
                    line.status = "not_shown"
        recording = content.get("recording")
        if recording:
            copied_id = await self._send_recording(chat, recording)
            if copied_id is None:
                for line in card.thread:
                    if line.id == card.carries_message_id:
                        line.status = "not_shown"
        elif copy:
            try:
                copied = await self.bot.copy_message(chat_id=chat, from_chat_id=chat_of(copy["from_address"]),
                                                     message_id=int(copy["message_id"]))
                copied_id = copied.message_id
            except TelegramBadRequest as exc:
                if "chat not found" in exc.message.lower():
                    raise
                log.info("inbox %s: message could not be copied: %s", card.item_id, exc.message[:60])
                for line in card.thread:
                    if line.id == card.carries_message_id:
                        line.status = "not_shown"
        sent = await self.bot.send_message(chat, inbox_card_html(card),
                                           reply_markup=inbox_card_keyboard(card.item_id, card.state),
                                           reply_to_message_id=copied_id)
        return sent, not (content.get("copy") or recording) or copied_id is not None

    async def _send_recording(self, chat: int, recording: dict[str, str]) -> int | None:
        """A guardian's voice recorded on the web pages, from the stored file, before its card:
        an Ogg voice note, MP3/M4A as audio, anything else (WebM from Chrome) as a file."""
        name = recording.get("name") or ""
        if self.recordings_root is None or not is_recording(name) or not (self.recordings_root / name).is_file():
            log.warning("inbox: a web recording is not on this machine")  # never the name (ties to a family)
            return None
        media_type = recording.get("media_type") or media_type_of(name)
        upload = FSInputFile(self.recordings_root / name, filename="voice." + name.rsplit(".", 1)[1])
        try:
            if media_type == "audio/ogg":
                sent = await self.bot.send_voice(chat, upload)
            elif media_type in ("audio/mpeg", "audio/mp4"):
                sent = await self.bot.send_audio(chat, upload)
            else:
                sent = await self.bot.send_document(chat, upload)
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise
            # Telegram would not take the file (an Ogg that is not Opus…): the card still goes, saying so.
            log.info("inbox: a web recording was refused: %s", exc.message[:60])
            return None
        return sent.message_id

    async def _send(self, item: Outgoing) -> Message | Sent:
        raw = item.content
        chat = chat_of(item.address)
        # Paid broadcast (bulk lanes only, when switched on): Telegram lifts the 30 msg/s cap for
        # these sends, for a fee. Alerts, safety messages and replies never carry it.
        paid = {"allow_paid_broadcast": True} if item.paid_broadcast else {}
        kind = item.kind
        if kind == MessageKind.INBOX_UPDATE:
            update = content_of(raw, InboxUpdatePayload)
            item_card = InboxCard.from_payload(update["card"])
            return await self._edit(chat, update["message_id"], inbox_card_html(item_card),
                                    inbox_card_keyboard(item_card.item_id, item_card.state))
        if kind == MessageKind.INBOX_DIGEST:
            digest = content_of(raw, InboxDigestPayload)
            return await self.bot.send_message(chat, digest_html([InboxCard.from_payload(c) for c in digest["items"]]))
        if kind == MessageKind.INBOX_RELAY:
            relay = content_of(raw, InboxRelayPayload)
            if relay.get("from_message_id"):
                await self.bot.send_message(chat, relay_text(relay.get("director"), None))
                copied = await self.bot.copy_message(chat_id=chat, from_chat_id=chat_of(relay["from_address"]),
                                                     message_id=int(relay["from_message_id"] or 0))
                return _kept(chat, copied.message_id)
            return await self.bot.send_message(chat, relay_text(relay.get("director"), relay.get("text")))
        if kind == MessageKind.INBOX_NOTICE:
            notice = content_of(raw, InboxNoticePayload)
            return await self.bot.send_message(chat, not_shown_reply(
                DirectorContact(name=notice.get("director"), phone=notice.get("director_phone"))))
        if kind == MessageKind.ALERT_NEWS:
            news = content_of(raw, AlertNewsPayload)
            card = AlertCard.from_payload(news["card"])
            return await self.bot.send_message(
                chat, news_html(news.get("occurrences") or card.occurrences, news.get("words"),
                                card.severity, card.case_id),
                reply_markup=news_keyboard(card.alert_id))
        if kind == MessageKind.LESSON:
            return await send_lesson(self.bot, chat, dict(content_of(raw, LessonPayload)), item.delivery_id,
                                     media_root=self.media_root, **paid)
        if kind == MessageKind.LESSON_FOLLOWUP:
            return await send_text(self.bot, chat, followup_html(dict(content_of(raw, LessonFollowupPayload))),
                                   reply_markup=tried_markup(item.delivery_id), allow_paid_broadcast=item.paid_broadcast)
        if kind in (MessageKind.CHECKIN, MessageKind.CHECKIN_REMINDER):
            question = content_of(raw, CheckinPayload)
            assert question["question"] is not None  # the resolver skips a check-in with nothing left to ask
            view = QuestionView.from_payload(question["question"])
            lead = reminder_lead(dict(question)) if kind == MessageKind.CHECKIN_REMINDER else None
            # The first message introduces the questionnaire; a reminder, or a later question
            # after a restart, goes straight to where the guardian is.
            intro = kind == MessageKind.CHECKIN and not question.get("answered")
            return await self.bot.send_message(chat, question_html(view, with_intro=intro, lead=lead),
                                               reply_markup=question_keyboard(view), **paid)
        if kind == MessageKind.CHECKIN_CLOSED:
            return await self.bot.send_message(chat, closed_html(dict(content_of(raw, CheckinClosedPayload))), **paid)
        if kind == MessageKind.CHECKIN_TAKEN:
            taken = content_of(raw, CheckinTakenPayload)
            text = answered_by_other_html() if taken["done"] else being_answered_html()
            return await self._edit(chat, taken["message_id"], text, None)
        if kind == MessageKind.SAFETY:
            safety = content_of(raw, SafetyPayload)
            return await self.bot.send_message(chat, safety_html(SafetyMessage.from_payload(safety["safety"])))
        if kind == MessageKind.ALERT:
            alert = content_of(raw, AlertPayload)
            card = AlertCard.from_payload(alert["card"])
            return await self.bot.send_message(chat, card_html(card, level=alert.get("level", 0)),
                                               reply_markup=card_keyboard(card.alert_id, card.status))
        if kind == MessageKind.ALERT_UPDATE:
            # "not modified": someone on the phone already showed this state
            redraw = content_of(raw, AlertUpdatePayload)
            card = AlertCard.from_payload(redraw["card"])
            return await self._edit(chat, redraw["message_id"], card_html(card, level=redraw.get("level", 0)),
                                    card_keyboard(card.alert_id, card.status))
        if kind == MessageKind.ALERT_REMINDER:
            reminder = content_of(raw, AlertPayload)
            card = AlertCard.from_payload(reminder["card"])
            return await self.bot.send_message(chat,
                                               reminder_html(card, escalate_local=reminder.get("escalate_local")),
                                               reply_markup=card_keyboard(card.alert_id, card.status))
        if kind == MessageKind.FOLLOWUP_RESULT:
            return await self.bot.send_message(
                chat, followup_result_html(dict(content_of(raw, FollowupResultPayload))), **paid)
        if kind == MessageKind.HOUSEHOLD_LEFT:
            return await self.bot.send_message(
                chat, household_left_html(dict(content_of(raw, HouseholdLeftPayload))), **paid)
        if kind == MessageKind.GUARDIAN_LEFT:
            return await self.bot.send_message(chat, guardian_left_html(dict(content_of(raw, GuardianLeftPayload))))
        if kind == MessageKind.INVITE_USED:
            return await self.bot.send_message(chat, invite_used_html(dict(content_of(raw, InviteUsedPayload))))
        if kind == MessageKind.CONSOLE_SIGNIN:
            return await self.bot.send_message(chat, signin_html(dict(content_of(raw, ConsoleSigninPayload))),
                                               disable_web_page_preview=True)
        if kind == MessageKind.CAMPAIGN:
            campaign = content_of(raw, CampaignPayload)
            if campaign.get("lesson_id"):
                return await send_lesson(self.bot, chat, dict(campaign), item.delivery_id,
                                         media_root=self.media_root, **paid)
            return await send_text(self.bot, chat, campaign_html(dict(campaign), item.locale),
                                   allow_paid_broadcast=item.paid_broadcast)
        raise _UnknownKind(str(kind))

    async def _edit(self, chat: int, message_id: str | int, text: str, markup: Any) -> Message:
        """Redraw a message already in the chat; an edit with nothing left to do counts as done."""
        try:
            edited = await self.bot.edit_message_text(text=text, chat_id=chat, message_id=int(message_id),
                                                      reply_markup=markup)
        except TelegramBadRequest as exc:
            if not any(reason in exc.message.lower() for reason in _EDIT_SETTLED):
                raise
            edited = None
        return edited if isinstance(edited, Message) else _kept(chat, message_id)


async def send_lesson(bot: Bot, chat_id: int, content: dict[str, Any], delivery_id: int, *, media_root: Path,
                      allow_paid_broadcast: bool | None = None) -> Message | Sent:
    """Photo or voice with the lesson as caption when the lesson has media (many grandparents
    read little), otherwise a text message; feedback buttons underneath."""
    paid = {"allow_paid_broadcast": True} if allow_paid_broadcast else {}
    text = lesson_html(content)
    keyboard = feedback_markup(delivery_id)
    media = content.get("media") or {}
    fits = len(text) <= CAPTION_LIMIT
    if media.get("voice") and fits:
        return await bot.send_voice(chat_id, FSInputFile(media_root / media["voice"]), caption=text,
                                    reply_markup=InlineKeyboardMarkup.model_validate(keyboard), **paid)
    if media.get("image") and fits:
        return await bot.send_photo(chat_id, FSInputFile(media_root / media["image"]), caption=text,
                                    reply_markup=InlineKeyboardMarkup.model_validate(keyboard), **paid)
    return await send_text(bot, chat_id, text, reply_markup=keyboard, allow_paid_broadcast=allow_paid_broadcast)
