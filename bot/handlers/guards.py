"""Filters shared by the guardian's command routers."""
from __future__ import annotations

from aiogram.types import Message
from aiogram.utils.i18n import gettext as _

from core.models import Guardian
from core.models.enums import GuardianStatus


def is_guardian(_event: object, guardian: Guardian | None) -> bool:
    return guardian is not None


async def refuse_if_stopped(message: Message, guardian: Guardian) -> bool:
    """Someone who said /stop gets nothing but the way back, until they /start again."""
    if guardian.status != GuardianStatus.stopped:
        return False
    await message.answer(_("You have stopped all messages. To start again, send /start."))
    return True
