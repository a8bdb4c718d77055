"""One place where a refused request becomes a reply. A handler (or the core service it calls)
raises a DomainError — a stale button, another cohort's alert, a closed check-in — and this
middleware answers it in the person's language, instead of an `except DomainError` block in
every handler. Handlers that must do more than say no (clear a question, cancel a draft) still
catch what they handle themselves.

An inner middleware rather than an error router: it runs inside the update's transaction
(what the refusal needs to read is still loaded) and sees the handler's flags, which say how
that group of handlers words a refusal (`flags={"refusal": STAFF}`). Words that name what was
refused ("There is no case #{id} …") take their values from the handler: it declares a
`refusal_args` parameter and puts them there (`refusal_args["id"] = case_id`) before it calls
what may refuse."""
from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from aiogram import BaseMiddleware
from aiogram.dispatcher.flags import get_flag
from aiogram.exceptions import TelegramAPIError
from aiogram.types import CallbackQuery, Message, TelegramObject
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __

from core.errors import DomainError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Refusal:
    """How a group of handlers says no: words for particular core codes (shown as a pop-up on a
    tap when `alert`), the words for any other refusal (None: a silent tap answer), and whether
    the tapped message's buttons go away."""

    default: Any = None  # a lazy gettext string, or None
    codes: Mapping[str, Any] = field(default_factory=dict)
    # Words for a kind of refusal whatever its code (NotFound, Conflict …), after `codes`.
    kinds: Mapping[type[DomainError], Any] = field(default_factory=dict)
    alert: bool = False
    alert_default: bool = False
    strip_buttons: bool = False
    # For handlers that answer the tap first: on a tap the words come as a message in the chat
    # (a tap can be answered only once), as they do for a typed message.
    as_message: bool = False

    def words(self, exc: DomainError, args: Mapping[str, Any] | None = None) -> tuple[str | None, bool]:
        """The words for this refusal, filled in with the handler's `args`, and whether a tap
        shows them as a pop-up."""
        if exc.code in self.codes:
            text, alert = self.codes[exc.code], self.alert
        else:
            kind = next((k for k in self.kinds if isinstance(exc, k)), None)
            text, alert = (self.kinds[kind], self.alert) if kind is not None else (self.default, self.alert_default)
        if text is None:
            return None, alert
        return (str(text).format(**args) if args else str(text)), alert


# A guardian's tap on a button whose moment has passed.
OLD_BUTTON = Refusal(default=__("This button is from an old message and no longer works."))
# A guardian's message: the generic "try again".
MESSAGE = Refusal(default=__("Sorry, that did not work. Please try again."))
# Staff: why what they did was refused (core codes → words), always as a pop-up on a tap.
STAFF = Refusal(
    default=__("This is not available any more."),
    codes={
        "resolved": __("This alert is already resolved."),
        "case_closed": __("This case is closed."),
        "note_too_long": __("The note is too long: at most 2000 characters."),
        "note_empty": __("Please type the note, or tap Cancel."),
        "inbox_done": __("This message is already done."),
    },
    alert=True, alert_default=True,
)


def staff_refusal(exc: DomainError) -> str:
    """The words STAFF uses, for a handler that must clear a question before it says no."""
    return STAFF.words(exc)[0] or ""


class RefusalMiddleware(BaseMiddleware):
    """Inner middleware on every router's messages and button taps (bot.handlers.get_routers)."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        args: dict[str, Any] = {}
        data["refusal_args"] = args  # filled in by a handler whose refusal words name something
        try:
            return await handler(event, data)
        except DomainError as exc:
            # The code only: the message may quote what someone typed.
            log.info("update refused: %s %s", type(exc).__name__, exc.code)
            how = get_flag(data, "refusal") or (OLD_BUTTON if isinstance(event, CallbackQuery) else MESSAGE)
            await _say(event, how, exc, args)
            return None


async def _say(event: TelegramObject, how: Refusal, exc: DomainError, args: Mapping[str, Any]) -> None:
    text, alert = how.words(exc, args)
    if isinstance(event, CallbackQuery) and how.as_message:
        if text is not None:
            await event.bot.send_message(event.from_user.id, text)  # type: ignore[union-attr]
    elif isinstance(event, CallbackQuery):
        await event.answer(text, show_alert=alert and text is not None)
        if how.strip_buttons and event.message is not None:
            try:
                await event.bot.edit_message_reply_markup(  # type: ignore[union-attr]
                    chat_id=event.from_user.id, message_id=event.message.message_id, reply_markup=None)
            except TelegramAPIError:
                pass  # too old to edit, or already without buttons
    elif isinstance(event, Message):
        await event.answer(text or _("Sorry, that did not work. Please try again."))
