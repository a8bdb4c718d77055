"""A Bot whose session records every Bot API request and answers it, after aiogram's own
tests/mocked_bot.py: no network, and tests assert on exactly what would have been sent.

Failures can be scripted: `bot.session.fail_next(403, "Forbidden: bot was blocked by the user")`
makes the next request fail the way Telegram would, the exception built by aiogram itself."""
from __future__ import annotations

import json
from collections.abc import AsyncGenerator
from datetime import datetime, timezone
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    SendAudio,
    SendDocument,
    AnswerCallbackQuery,
    CopyMessage,
    DeleteMessage,
    EditMessageReplyMarkup,
    EditMessageText,
    GetMe,
    SendMessage,
    SendPhoto,
    SendVoice,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.types import Chat, InlineKeyboardMarkup, Message, MessageId, PhotoSize, User, Voice

BOT_USER = User(id=42, is_bot=True, first_name="Shouwang", username="shouwang_test_bot")


class MockedSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self.results: list[Any] = []
        self.refused: list[TelegramMethod[Any]] = []
        self._answered_queries: set[str] = set()
        self._message_id = 1000
        self._failures: list[tuple[tuple[int, str, int | None] | Exception, type | None]] = []

    def fail_next(self, status_code: int, description: str, *, retry_after: int | None = None,
                  method: type | None = None) -> None:
        """The next request (of type `method`, if given) gets this HTTP error from "Telegram";
        aiogram turns it into its exception."""
        self._failures.append(((status_code, description, retry_after), method))

    def raise_next(self, exc: Exception, *, method: type | None = None) -> None:
        """The next request (of type `method`, if given) raises this (e.g. a TelegramNetworkError,
        as the aiohttp session would)."""
        self._failures.append((exc, method))

    async def close(self) -> None:
        pass

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        if isinstance(method, AnswerCallbackQuery):
            # Like Telegram: a callback query can be answered once; a second answer is refused.
            if method.callback_query_id in self._answered_queries:
                self.refused.append(method)
                raise TelegramBadRequest(method=method, message="Bad Request: query ID is invalid")
            self._answered_queries.add(method.callback_query_id)
        index = next((i for i, (_, only) in enumerate(self._failures) if only is None or isinstance(method, only)),
                     None)
        if index is not None:
            self.refused.append(method)
            failure = self._failures.pop(index)[0]
            if isinstance(failure, Exception):
                raise failure
            status_code, description, retry_after = failure
            body: dict[str, Any] = {"ok": False, "error_code": status_code, "description": description}
            if retry_after is not None:
                body["parameters"] = {"retry_after": retry_after}
            self.check_response(bot, method, status_code, json.dumps(body))
            raise AssertionError("check_response accepted an error")
        result = self._answer(method)
        self.requests.append(method)
        self.results.append(result)
        return result

    def _answer(self, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, (SendMessage, EditMessageText)):
            if isinstance(method, EditMessageText):
                message_id = int(method.message_id or 0)  # an edit keeps the message's id
            else:
                self._message_id += 1
                message_id = self._message_id
            markup = method.reply_markup if isinstance(method.reply_markup, InlineKeyboardMarkup) else None
            return Message(
                message_id=message_id,
                date=datetime.now(timezone.utc),
                chat=Chat(id=int(method.chat_id or 0), type="private"),
                from_user=BOT_USER,
                text=method.text,
                reply_markup=markup,
            )
        if isinstance(method, (SendPhoto, SendVoice)):
            self._message_id += 1
            media: dict[str, Any] = (
                {"photo": [PhotoSize(file_id="p", file_unique_id="p", width=1, height=1)]}
                if isinstance(method, SendPhoto) else {"voice": Voice(file_id="v", file_unique_id="v", duration=1)}
            )
            return Message(
                message_id=self._message_id,
                date=datetime.now(timezone.utc),
                chat=Chat(id=int(method.chat_id or 0), type="private"),
                from_user=BOT_USER,
                caption=method.caption,
                reply_markup=method.reply_markup if isinstance(method.reply_markup, InlineKeyboardMarkup) else None,
                **media,
            )
        if isinstance(method, (SendAudio, SendDocument)):  # a file: the caller only needs its message id
            self._message_id += 1
            return Message(message_id=self._message_id, date=datetime.now(timezone.utc),
                           chat=Chat(id=int(method.chat_id or 0), type="private"), from_user=BOT_USER)
        if isinstance(method, CopyMessage):
            self._message_id += 1
            return MessageId(message_id=self._message_id)
        if isinstance(method, GetMe):
            return BOT_USER
        if isinstance(method, (AnswerCallbackQuery, SetMyCommands, DeleteMessage, EditMessageReplyMarkup)):
            return True
        raise AssertionError(f"the mocked session does not answer {type(method).__name__}")

    async def stream_content(self, *args: Any, **kwargs: Any) -> AsyncGenerator[bytes, None]:
        yield b""


class MockedBot(Bot):
    def __init__(self) -> None:
        super().__init__(
            "42:TEST-TOKEN", session=MockedSession(), default=DefaultBotProperties(parse_mode=ParseMode.HTML)
        )
        self._me = BOT_USER

    @property
    def requests(self) -> list[TelegramMethod[Any]]:
        assert isinstance(self.session, MockedSession)
        return self.session.requests
