"""The last resort: anything unexpected is logged by ids only and the person gets a kind reply."""
from __future__ import annotations

import logging
import traceback

from aiogram import Bot, Router
from aiogram.exceptions import TelegramAPIError, TelegramRetryAfter
from aiogram.types import ErrorEvent
from aiogram.utils.i18n import gettext as _

log = logging.getLogger(__name__)


async def on_error(event: ErrorEvent, bot: Bot) -> bool:
    update = event.update
    exc = event.exception
    callback = update.callback_query
    chat_id = None
    if update.message is not None:
        chat_id = update.message.chat.id
    elif callback is not None:
        chat_id = callback.from_user.id
    # Frames only: the exception's message may quote what someone typed or stored.
    log.error(
        "update_id=%s chat_id=%s failed: %s\n%s",
        update.update_id, chat_id, type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)),
    )
    if callback is not None:
        # Answered here unless the handler already did (then Telegram refuses a second answer).
        try:
            await callback.answer()
        except TelegramAPIError:
            pass
    if isinstance(exc, TelegramRetryAfter):
        # The reply already waited out Telegram's pauses (bot.retry) and was still refused: an
        # apology now would meet the same limit.
        return True
    if chat_id is not None:
        try:
            await bot.send_message(chat_id, _(
                "Sorry, something went wrong on our side. Please try again in a moment — "
                "what you told us before is saved. If it keeps happening, send /start."
            ))
        except TelegramAPIError as send_exc:  # e.g. we are blocked, or Telegram is down
            log.warning("update_id=%s could not send the error reply: %s", update.update_id,
                        type(send_exc).__name__)
    return True


def make_router() -> Router:
    router = Router(name="errors")
    router.errors.register(on_error)
    return router
