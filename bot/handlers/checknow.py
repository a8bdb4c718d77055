"""/checknow <household> <why>: a child director sends the check-in to one of their families now
(core.checkin.adhoc: the same rows and rules as the calendar's; scoped, audited, the reason kept)."""
from __future__ import annotations

from aiogram import Router
from aiogram.filters import Command, CommandObject
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.director import is_staff
from bot.middlewares.refusals import Refusal
from core.access import scope_for
from core.checkin.adhoc import send_checkin_now
from core.clock import Clock
from core.errors import Forbidden, NotFound
from core.models import Staff

# Said by the refusal middleware (bot.middlewares.refusals); {id} is the household asked for.
CHECKNOW = Refusal(kinds={NotFound: __("There is no household #{id} in your groups."),
                          Forbidden: __("Only a child director of this group can send a check-in.")})


def _usage() -> str:
    return _("Send the family's number and why, for example:\n/checknow 12 grandmother sounded worried on the phone")


async def on_checknow(message: Message, command: CommandObject, session: AsyncSession, staff: Staff,
                      clock: Clock, refusal_args: dict[str, object]) -> None:
    number, _sep, reason = (command.args or "").strip().partition(" ")
    number = number.lstrip("#")
    if not number.isdigit() or len(number) > 9 or not reason.strip():
        await message.answer(_usage())
        return
    household_id = refusal_args["id"] = int(number)
    scope = await scope_for(session, staff)
    done = await send_checkin_now(session, scope=scope, target="household", target_id=household_id,
                                  reason=reason[:500], now=clock())
    await session.commit()
    if done.already_sent:
        text = _("Household #{id} was already sent the check-in today.")
    elif done.checkins:
        text = _("The check-in is on its way to household #{id}: questions about {children} child(ren). It goes "
                 "out now, or in the morning if it is the family's quiet time.")
    elif done.already_open:
        text = _("The children of household #{id} already have the check-in open; nothing new was sent. "
                 "Their guardians can answer it with /checkin.")
    else:
        text = _("Nobody in household #{id} can be asked now: they stopped messages, or no child is the right age.")
    await message.answer(text.format(id=household_id, children=done.checkins))


def make_router() -> Router:
    router = Router(name="checknow")
    router.message.filter(is_staff)
    router.message.register(on_checknow, Command("checknow"), flags={"refusal": CHECKNOW})
    return router
