"""One database session and transaction per update, and each update handled once."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.addresses import CHANNEL
from bot.retry import hold_session
from core.clock import Clock
from core.models import ProcessedUpdate

log = logging.getLogger(__name__)


class SessionMiddleware(BaseMiddleware):
    """Outer middleware on dp.update.

    The update id is recorded in the same transaction as whatever the handler stores, so a
    redelivered update (webhook retry, polling after a crash) finds it and does nothing twice,
    while an update whose handling failed is rolled back and can be tried again.
    """

    def __init__(self, sessionmaker: async_sessionmaker[AsyncSession], clock: Clock) -> None:
        self.sessionmaker = sessionmaker
        self.clock = clock

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        assert isinstance(event, Update)
        async with self.sessionmaker() as session:
            if not await self._first_delivery(session, event.update_id):
                log.info("update_id=%s already handled; skipped", event.update_id)
                return None
            data["session"] = session
            try:
                with hold_session(session):  # a reply waiting out a 429 ends the transaction first
                    result = await handler(event, data)
            except Exception:
                # close() rolls the transaction back without expiring the rows already
                # loaded, so the error handler can still read the person's language.
                await session.close()
                raise
            await session.commit()
            return result

    async def _first_delivery(self, session: AsyncSession, update_id: int) -> bool:
        key = (CHANNEL, str(update_id))  # processed inbound events are keyed by (channel, event id)
        if await session.get(ProcessedUpdate, key) is not None:
            await session.rollback()
            return False
        session.add(ProcessedUpdate(channel=key[0], event_id=key[1], processed_at=self.clock()))
        try:
            await session.flush()
        except IntegrityError:  # the same update is being handled right now elsewhere
            await session.rollback()
            return False
        return True
