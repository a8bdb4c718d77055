"""A Bot whose session records every Bot API request and answers it, after aiogram's own
tests/mocked_bot.py: no network, and tests assert on exactly what would have been sent."""
from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime, timezone
from typing import Any

from aiogram import Bot
from aiogram.client.default import DefaultBotProperties
from aiogram.client.session.base import BaseSession
from aiogram.enums import ParseMode
from aiogram.exceptions import TelegramBadRequest
from aiogram.methods import (
    AnswerCallbackQuery,
    DeleteMessage,
    EditMessageReplyMarkup,
    EditMessageText,
    GetMe,
    SendMessage,
    SetMyCommands,
    TelegramMethod,
)
from aiogram.types import Chat, InlineKeyboardMarkup, Message, User

BOT_USER = User(id=42, is_bot=True, first_name="Shouwang", username="shouwang_test_bot")


class MockedSession(BaseSession):
    def __init__(self) -> None:
        super().__init__()
        self.requests: list[TelegramMethod[Any]] = []
        self.results: list[Any] = []
        self.refused: list[TelegramMethod[Any]] = []
        self._answered_queries: set[str] = set()
        self._message_id = 1000

    async def close(self) -> None:
        pass

    async def make_request(self, bot: Bot, method: TelegramMethod[Any], timeout: int | None = None) -> Any:
        if isinstance(method, AnswerCallbackQuery):
            # Like Telegram: a callback query can be answered once; a second answer is refused.
            if method.callback_query_id in self._answered_queries:
                self.refused.append(method)
                raise TelegramBadRequest(method=method, message="Bad Request: query ID is invalid")
            self._answered_queries.add(method.callback_query_id)
        result = self._answer(method)
        self.requests.append(method)
        self.results.append(result)
        return result

    def _answer(self, method: TelegramMethod[Any]) -> Any:
        if isinstance(method, (SendMessage, EditMessageText)):
            self._message_id += 1
            markup = method.reply_markup if isinstance(method.reply_markup, InlineKeyboardMarkup) else None
            return Message(
                message_id=self._message_id,
                date=datetime.now(timezone.utc),
                chat=Chat(id=int(method.chat_id or 0), type="private"),
                from_user=BOT_USER,
                text=method.text,
                reply_markup=markup,
            )
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
