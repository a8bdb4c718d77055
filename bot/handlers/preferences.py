"""/settings → "My time zone" and "Quiet hours": when lessons may reach this guardian."""
from __future__ import annotations

from zoneinfo import ZoneInfo

from aiogram import Bot, Router
from aiogram.types import CallbackQuery
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.guards import is_guardian
from bot.keyboards import guardian as kb
from bot.keyboards.callbacks import PrefCB
from bot.middlewares.refusals import MESSAGE, Refusal
from bot.texts import guardian_timezone_label
from core.clock import Clock
from core.enrolment import service as enrolment
from core.models import Guardian
from core.models.enums import GuardianStatus


def _parse_quiet(value: str) -> tuple[str, str]:
    """"2130-0800" → ("21:30", "08:00"); anything malformed is left for the service to refuse."""
    start, _sep, end = value.partition("-")
    return f"{start[:2]}:{start[2:]}", f"{end[:2]}:{end[2:]}"


async def on_preference(callback: CallbackQuery, callback_data: PrefCB, bot: Bot, session: AsyncSession,
                        clock: Clock, guardian: Guardian) -> None:
    await callback.answer()
    chat_id = callback.from_user.id
    if guardian.status == GuardianStatus.stopped:
        await bot.send_message(chat_id, _("You have stopped all messages. To start again, send /start."))
        return
    now = clock()
    home = await enrolment.home_timezone(session, guardian=guardian)
    what, value = callback_data.what, callback_data.value
    if what == "tz_menu":
        await bot.send_message(
            chat_id,
            _("Lessons follow the clock where you are. Where are you now? Each button shows the time there now."),
            reply_markup=kb.timezones(guardian.timezone, home, now),
        )
        return
    if what == "quiet_menu":
        await bot.send_message(
            chat_id,
            _("When should we not send you lessons? Please choose your quiet hours. Urgent messages about "
              "a child's safety may still come at any time."),
            reply_markup=kb.quiet_hours(guardian.quiet_start, guardian.quiet_end),
        )
        return
    if what == "tz":
        enrolment.set_timezone(guardian, timezone=None if value == "home" else value, now=now)
    elif what == "quiet":
        start, end = _parse_quiet(value)
        enrolment.set_quiet_hours(guardian, start=start, end=end, now=now)
    else:
        return
    await session.commit()  # saved before we say so
    if what == "tz":
        local = now.astimezone(ZoneInfo(guardian.timezone or home)).strftime("%H:%M")
        done = _("Done. Lessons now follow the clock of: {zone} (it is {time} there now).").format(
            zone=guardian_timezone_label(guardian.timezone, home), time=local)
    else:
        done = _("Done. We will not send you lessons between {start} and {end}.").format(
            start=guardian.quiet_start, end=guardian.quiet_end)
    await bot.send_message(chat_id, done)


def make_router() -> Router:
    router = Router(name="preferences")
    router.callback_query.filter(is_guardian)
    # A zone or hours refused (an old or forged button): "try again", below the answered tap.
    router.callback_query.register(on_preference, PrefCB.filter(),
                                   flags={"refusal": Refusal(default=MESSAGE.default, as_message=True)})
    return router
