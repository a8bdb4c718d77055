"""Loads who is talking (guardian, staff member, unfinished flow) into handler data."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject
from sqlalchemy.ext.asyncio import AsyncSession

from core.enrolment.service import find_guardian, get_draft
from core.staff.service import find_staff_by_chat


class ContextMiddleware(BaseMiddleware):
    """Outer middleware on dp.update, inside SessionMiddleware."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        session: AsyncSession = data["session"]
        chat: Chat | None = data.get("event_chat")
        guardian = staff = draft = None
        if chat is not None and chat.type == "private":
            guardian = await find_guardian(session, chat_id=chat.id)
            staff = await find_staff_by_chat(session, chat_id=chat.id)
            draft = await get_draft(session, chat_id=chat.id)
        data["guardian"] = guardian
        data["staff"] = staff
        data["draft"] = draft
        return await handler(event, data)
