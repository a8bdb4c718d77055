"""Loads who is talking (guardian, staff member, unfinished flow) into handler data: the one
place a Telegram chat becomes an endpoint address ("telegram:<chat id>", data["address"]) and
the person at it is found through their endpoints."""
from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import Chat, TelegramObject, Update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import address_of
from core.clock import Clock
from core.endpoints.service import heard_from, staff_at
from core.enrolment.service import find_guardian, get_draft, mark_reachable


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
        guardian = staff = draft = address = None
        if chat is not None and chat.type == "private":
            address = address_of(chat.id)
            guardian = await find_guardian(session, address=address)
            staff = await staff_at(session, address=address)
            draft = await get_draft(session, address=address)
        if address is not None and (guardian or staff) and isinstance(event, Update) and event.my_chat_member is None:
            # They wrote or tapped: Telegram delivers to them again, whatever a 403 said before
            # (their endpoints here reopen; alerts reach a staff member again).
            clock: Clock = data["clock"]
            await heard_from(session, address=address, now=clock())
            if guardian is not None:
                mark_reachable(guardian, now=clock())
        data["address"] = address
        data["guardian"] = guardian
        data["staff"] = staff
        data["draft"] = draft
        # Their language as a plain string, read now: after a failed flush the rows above are
        # expired and detached, and the error handler must still speak to them in it.
        locales = [getattr(who, "locale", None) for who in (draft, guardian, staff)]
        data["person_locale"] = next((locale for locale in locales if locale), None)
        return await handler(event, data)
