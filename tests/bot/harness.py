"""Make real Telegram updates and feed them to the production dispatcher, one person at a time."""
from __future__ import annotations

import itertools
from datetime import datetime, timezone
from typing import Any

from aiogram import Dispatcher
from aiogram.methods import (
    AnswerCallbackQuery,
    EditMessageReplyMarkup,
    EditMessageText,
    SendMessage,
    SendPhoto,
    SendVoice,
    TelegramMethod,
)
from aiogram.types import (
    Audio,
    CallbackQuery,
    Chat,
    Contact,
    Document,
    Location,
    Message,
    PhotoSize,
    Sticker,
    Update,
    User,
    Video,
    VideoNote,
    Voice,
)

from bot.keyboards.callbacks import StepCB
from mocked_bot import MockedBot

_update_ids = itertools.count(1)
_message_ids = itertools.count(1)


def next_update_id() -> int:
    return next(_update_ids)


class Person:
    """Someone in a private chat with the bot."""

    def __init__(self, dp: Dispatcher, bot: MockedBot, chat_id: int, language_code: str | None) -> None:
        self.dp = dp
        self.bot = bot
        self.chat_id = chat_id
        self.user = User(id=chat_id, is_bot=False, first_name="Tester", language_code=language_code)
        self.chat = Chat(id=chat_id, type="private")
        self.address = f"telegram:{chat_id}"  # their endpoint's address

    # ------------------------------------------------------------ updates

    def message_update(self, update_id: int | None = None, **content: Any) -> Update:
        message = Message(
            message_id=next(_message_ids), date=datetime.now(timezone.utc), chat=self.chat,
            from_user=self.user, **content,
        )
        return Update(update_id=update_id or next_update_id(), message=message)

    async def feed(self, update: Update) -> list[TelegramMethod[Any]]:
        before = len(self.bot.requests)
        await self.dp.feed_update(self.bot, update)
        return self.bot.requests[before:]

    async def send(self, text: str) -> list[TelegramMethod[Any]]:
        return await self.feed(self.message_update(text=text))

    async def send_sticker(self) -> list[TelegramMethod[Any]]:
        sticker = Sticker(file_id="st", file_unique_id="st", type="regular", width=512, height=512,
                          is_animated=False, is_video=False)
        return await self.feed(self.message_update(sticker=sticker))

    async def send_photo(self) -> list[TelegramMethod[Any]]:
        return await self.feed(self.message_update(photo=[PhotoSize(file_id="p", file_unique_id="p",
                                                                     width=90, height=90)]))

    async def send_voice(self) -> list[TelegramMethod[Any]]:
        return await self.feed(self.message_update(voice=Voice(file_id="v", file_unique_id="v", duration=3)))

    async def send_video(self) -> list[TelegramMethod[Any]]:
        return await self.feed(self.message_update(video=Video(file_id="vi", file_unique_id="vi",
                                                               width=1, height=1, duration=1)))

    async def send_video_note(self) -> list[TelegramMethod[Any]]:
        return await self.feed(self.message_update(video_note=VideoNote(file_id="vn", file_unique_id="vn", length=240,
                                                                        duration=2)))

    async def send_audio(self) -> list[TelegramMethod[Any]]:
        return await self.feed(self.message_update(audio=Audio(file_id="a", file_unique_id="a", duration=5,
                                                               mime_type="audio/mpeg")))

    async def send_document(self) -> list[TelegramMethod[Any]]:
        return await self.feed(self.message_update(document=Document(file_id="d", file_unique_id="d")))

    async def send_location(self) -> list[TelegramMethod[Any]]:
        return await self.feed(self.message_update(location=Location(latitude=30.0, longitude=110.0)))

    async def press(self, data: str, *, message_id: int = 1) -> list[TelegramMethod[Any]]:
        """A callback query with this data, as if from a bot message with this id."""
        message = Message(message_id=message_id, date=datetime.now(timezone.utc), chat=self.chat,
                          from_user=self.user, text="…")
        query = CallbackQuery(id=f"cq{next_update_id()}", from_user=self.user, chat_instance="ci",
                              message=message, data=data)
        sent = await self.feed(Update(update_id=next_update_id(), callback_query=query))
        # Every button press is answered exactly once, or the phone shows a spinner forever.
        assert len(answered(sent)) == 1, [type(m).__name__ for m in sent]
        return sent

    # ------------------------------------------------------------ reading what the bot sent

    def sent(self) -> list[SendMessage]:
        return [m for m in self.bot.requests if isinstance(m, SendMessage) and m.chat_id == self.chat_id]

    def shown(self) -> list[SendMessage | EditMessageText]:
        """What this chat was sent or had edited, in order."""
        return [m for m in self.bot.requests
                if isinstance(m, (SendMessage, EditMessageText)) and m.chat_id == self.chat_id]

    def last_shown(self) -> SendMessage | EditMessageText:
        shown = self.shown()
        assert shown, "the bot showed nothing to this chat"
        return shown[-1]

    def last(self) -> SendMessage:
        sent = self.sent()
        assert sent, "the bot sent nothing to this chat"
        return sent[-1]

    def last_buttons(self) -> list[tuple[str, str]]:
        markup = self.last().reply_markup
        if markup is None or not hasattr(markup, "inline_keyboard"):
            return []
        return [(b.text, b.callback_data or "") for row in markup.inline_keyboard for b in row]

    def reply_keyboard(self) -> list[tuple[str, bool]]:
        """The reply keyboard of the newest message: (text, asks for the contact) per button."""
        markup = self.last().reply_markup
        if markup is None or not hasattr(markup, "keyboard"):
            return []
        return [(b.text, bool(b.request_contact)) for row in markup.keyboard for b in row]

    async def share_contact(self, phone_number: str, *, user_id: int | None = None) -> list[TelegramMethod[Any]]:
        """Telegram's share-contact button: a message carrying a Contact."""
        contact = Contact(phone_number=phone_number, first_name="Tester", user_id=user_id or self.chat_id)
        return await self.feed(self.message_update(contact=contact))

    async def identity(self, call_name: str = "王奶奶", phone: str | None = "13812345678",
                       village: str | None = "三组 村口小卖部旁") -> None:
        """Answer the three whom-to-call steps (typed; None skips)."""
        await self.send(call_name)
        if phone is None:
            await self.send("跳过" if "跳过" in str(self.reply_keyboard()) else "Skip")
        else:
            await self.send(phone)
        if village is None:
            await self.choose("skip")
        else:
            await self.send(village)

    def _find(self, match, *, even_removed: bool = False) -> tuple[str, int]:  # type: ignore[no-untyped-def]
        """The newest message to this chat with a matching button: (callback data, message id).
        An edit that changed or removed a message's buttons hides its older buttons, unless
        `even_removed` (an old copy still on another phone)."""
        requests, results = self.bot.requests, self.bot.session.results
        superseded: set[int] = set()
        for method, result in zip(reversed(requests), reversed(results), strict=True):
            if isinstance(method, (EditMessageText, EditMessageReplyMarkup)) and method.chat_id == self.chat_id:
                if method.message_id in superseded:
                    continue
                superseded.add(int(method.message_id or 0))
                if not method.reply_markup:
                    continue
            elif not (isinstance(method, (SendMessage, SendPhoto, SendVoice)) and method.chat_id == self.chat_id
                      and method.reply_markup):
                continue
            elif getattr(result, "message_id", None) in superseded and not even_removed:
                continue
            message_id = method.message_id if isinstance(method, (EditMessageText, EditMessageReplyMarkup)) \
                else result.message_id
            for row in getattr(method.reply_markup, "inline_keyboard", None) or []:
                for button in row:
                    if match(button):
                        return button.callback_data, message_id
        raise AssertionError("no such button was sent to this chat")

    async def tap(self, text: str, *, even_removed: bool = False) -> list[TelegramMethod[Any]]:
        """Tap the newest button with exactly this text."""
        data, message_id = self._find(lambda b: b.text == text, even_removed=even_removed)
        return await self.press(data, message_id=message_id)

    async def choose(self, value: str) -> list[TelegramMethod[Any]]:
        """Tap the newest flow button whose value is this (language-independent)."""

        def match(button) -> bool:  # type: ignore[no-untyped-def]
            data = button.callback_data or ""
            return data.startswith(StepCB.__prefix__ + ":") and StepCB.unpack(data).value == value

        data, message_id = self._find(match)
        return await self.press(data, message_id=message_id)

    async def answer(self, value: int, *, even_removed: bool = False) -> list[TelegramMethod[Any]]:
        """Tap the answer with this value under the newest check-in question."""
        data, message_id = self._find(lambda b: (b.callback_data or "").startswith("a1:")
                                      and b.callback_data.rsplit(":", 1)[1] == str(value), even_removed=even_removed)
        return await self.press(data, message_id=message_id)

    async def back(self) -> list[TelegramMethod[Any]]:
        data, message_id = self._find(lambda b: (b.callback_data or "").startswith("n1:")
                                      and b.callback_data.endswith(":back"))
        return await self.press(data, message_id=message_id)

    def current_buttons(self) -> list[tuple[str, str]]:
        """The buttons of the newest message shown to this chat (sent, or changed by an edit)."""
        for method in reversed(self.bot.requests):
            if getattr(method, "chat_id", None) != self.chat_id or not isinstance(
                    method, (SendMessage, SendPhoto, SendVoice, EditMessageText, EditMessageReplyMarkup)):
                continue
            markup = method.reply_markup
            if markup is None or not hasattr(markup, "inline_keyboard"):
                return []
            return [(b.text, b.callback_data or "") for row in markup.inline_keyboard for b in row]
        return []

    async def consent(self, agree: bool = True) -> list[TelegramMethod[Any]]:
        data, message_id = self._find(lambda b: (b.callback_data or "").startswith("c1:")
                                      and b.callback_data.split(":")[2] == ("1" if agree else "0"))
        return await self.press(data, message_id=message_id)


def texts(requests: list[TelegramMethod[Any]]) -> list[str]:
    return [m.text for m in requests if isinstance(m, SendMessage)]


def text_of(requests: list[TelegramMethod[Any]]) -> str:
    """All message texts sent in reply to one update, joined."""
    return "\n".join(texts(requests))


def answered(requests: list[TelegramMethod[Any]]) -> list[AnswerCallbackQuery]:
    return [m for m in requests if isinstance(m, AnswerCallbackQuery)]
