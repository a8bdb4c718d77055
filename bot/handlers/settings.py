"""/settings: change language, pause or resume lessons; time zone and quiet hours are in
handlers/preferences.py."""
from __future__ import annotations

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import I18n
from aiogram.utils.i18n import gettext as _
from aiogram.utils.i18n import lazy_gettext as __
from sqlalchemy.ext.asyncio import AsyncSession

from bot.addresses import address_of
from bot.handlers.guards import is_guardian, refuse_if_stopped
from bot.keyboards import guardian as kb
from bot.keyboards.callbacks import SettingsCB
from bot.keyboards.flow import LANGUAGE_NAMES
from bot.middlewares.refusals import MESSAGE, Refusal
from bot.prompts import send_step
from bot.texts import guardian_timezone_label, identity_lines, quiet_hours_label
from core.clock import Clock
from core.enrolment import service as enrolment
from core.errors import Conflict
from core.locales import to_babel
from core.models import Draft, Guardian
from core.models.enums import GuardianStatus


def _settings_text(guardian: Guardian, home_timezone: str) -> str:
    lessons = _("paused") if guardian.status == GuardianStatus.paused else _("on")
    return identity_lines(guardian.call_name, guardian.phone, guardian.village) + "\n\n" + _(
        "Your settings:\nLanguage: {language}\nLessons: {lessons}\nTime zone: {timezone}\n"
        "Quiet hours: {quiet}\n\nWhat would you like to change?"
    ).format(
        language=LANGUAGE_NAMES.get(guardian.locale, guardian.locale), lessons=lessons,
        timezone=guardian_timezone_label(guardian.timezone, home_timezone),
        quiet=quiet_hours_label(guardian.quiet_start, guardian.quiet_end),
    )


async def on_settings(message: Message, session: AsyncSession, guardian: Guardian) -> None:
    if await refuse_if_stopped(message, guardian):
        return
    home = await enrolment.home_timezone(session, guardian=guardian)
    await message.answer(_settings_text(guardian, home), reply_markup=kb.settings(guardian))


# Said by the refusal middleware (bot.middlewares.refusals), below the tap already answered.
SETTINGS = Refusal(kinds={Conflict: __("You have stopped all messages. To start again, send /start.")},  # meanwhile
                   default=MESSAGE.default, as_message=True)


async def on_settings_button(
    callback: CallbackQuery, callback_data: SettingsCB, bot: Bot, session: AsyncSession, i18n: I18n,
    clock: Clock, guardian: Guardian, draft: Draft | None,
) -> None:
    await callback.answer()
    chat_id = callback.from_user.id
    now = clock()
    action = callback_data.action
    if action == "language":
        await bot.send_message(chat_id, _("Please choose your language."), reply_markup=kb.languages())
        return
    if action == "identity":
        # The same three questions as at enrolment, then a summary to confirm (a Draft row).
        flow = await enrolment.begin_identity_edit(session, guardian=guardian, address=address_of(chat_id), now=now)
        await session.commit()
        await send_step(bot, session, flow, chat_id=chat_id, today=now.date(), i18n=i18n)
        return
    if action == "set_language":
        enrolment.set_locale(guardian, locale=callback_data.value, now=now)
        if draft is not None:
            enrolment.choose_language(draft, locale=callback_data.value, now=now)
    elif action in ("pause", "resume"):
        enrolment.set_paused(guardian, paused=action == "pause", now=now)
    else:
        return
    await session.commit()
    with i18n.use_locale(to_babel(guardian.locale)):
        if action == "set_language":
            done = _("Done. I will speak English with you from now on.") if guardian.locale == "en" \
                else _("Done. I will speak Chinese with you from now on.")
        elif action == "pause":
            done = _("Lessons are paused. Send /settings when you want them again.")
        else:
            done = _("Lessons are on again.")
        await bot.send_message(chat_id, done)


def make_router() -> Router:
    router = Router(name="settings")
    router.message.filter(is_guardian)
    router.callback_query.filter(is_guardian)
    router.message.register(on_settings, Command("settings"))
    router.callback_query.register(on_settings_button, SettingsCB.filter(), flags={"refusal": SETTINGS})
    return router
