"""Loads who is talking (guardian, staff member, unfinished flow) into handler data."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import Clock
from core.enrolment.service import find_guardian, get_draft, mark_reachable
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
        if guardian is not None and isinstance(event, Update) and event.my_chat_member is None:
            # They wrote or tapped: Telegram delivers to them again, whatever a 403 said before.
            clock: Clock = data["clock"]
            mark_reachable(guardian, now=clock())
        if staff is not None and staff.telegram_blocked_at is not None and isinstance(event, Update) \
                and event.my_chat_member is None:
            staff.telegram_blocked_at = None  # they wrote: alerts reach them again
        data["guardian"] = guardian
        data["staff"] = staff
        data["draft"] = draft
        # Their language as a plain string, read now: after a failed flush the rows above are
        # expired and detached, and the error handler must still speak to them in it.
        locales = [getattr(who, "locale", None) for who in (draft, guardian, staff)]
        data["person_locale"] = next((locale for locale in locales if locale), None)
        return await handler(event, data)
