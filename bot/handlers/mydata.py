"""/mydata: in plain words, what Shouwang keeps about this guardian and their children. The first
message is safe on a shared phone (no answers, no words, nothing about alerts); everything else —
their own answers, their own words, the calls and visits, alerts their own answers raised — comes
only when they tap for it, with a warning first."""
from __future__ import annotations

from html import escape

from aiogram import Bot, Router
from aiogram.filters import Command
from aiogram.types import CallbackQuery, Message
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.guards import is_guardian
from bot.keyboards.callbacks import MyDataCB
from bot.keyboards.flow import LANGUAGE_NAMES
from bot.texts import (
    child_lines,
    guardian_timezone_label,
    identity_lines,
    quiet_hours_label,
    relationship_label,
    residence_sentence,
)
from core.enrolment import service as enrolment
from core.households.record import guardian_record
from core.models import Guardian

MESSAGE_MAX = 3500  # Telegram allows 4096 characters; long records go in several messages


def _status(status: str) -> str:
    return {
        "active": _("receiving lessons"),
        "paused": _("lessons paused"),
        "stopped": _("stopped, no messages"),
    }.get(status, status)


async def on_mydata(message: Message, session: AsyncSession, guardian: Guardian) -> None:
    # Only this guardian's own record and the children's basic details: never another
    # guardian's data or anyone's answers.
    data = await enrolment.guardian_data(session, guardian=guardian)
    g = data.guardian
    lines = [
        _("This is what Shouwang keeps about you:"),
        "",
        _("• You are the children's: {relationship}").format(relationship=relationship_label(g.relationship)),
        "• " + residence_sentence(g.lives_with_children),
        *("• " + line for line in identity_lines(g.call_name, g.phone, g.village).split("\n")),
        _("• Language: {language}").format(language=LANGUAGE_NAMES.get(g.locale, g.locale)),
        _("• You agreed to the consent text, version {version}, on {date}.").format(
            version=g.consent_version, date=g.consented_at.date().isoformat()),
        _("• Status: {status}").format(status=_status(g.status)),
        _("• Time zone for lessons: {timezone}").format(
            timezone=guardian_timezone_label(g.timezone, data.cohort.timezone)),
        _("• Quiet hours, no lessons: {quiet}").format(quiet=quiet_hours_label(g.quiet_start, g.quiet_end)),
        _("• Your group: {cohort}").format(cohort=escape(data.cohort.name)),
        "",
        _("Your children:"),
        child_lines(data.children),
        "",
        _("We also keep your answers to our questions and the words you wrote for the child director. "
          "To see them, tap the button below — if other people use this phone, do it when you are alone."),
        "",
        _("To correct your name, phone or home, send /settings. To correct a child, send /children. "
          "To erase your data, send /delete."),
    ]
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Show my answers and words"), callback_data=MyDataCB(action="full"))
    await message.answer("\n".join(lines), reply_markup=kb.as_markup())


async def on_full(callback: CallbackQuery, bot: Bot, session: AsyncSession, guardian: Guardian) -> None:
    await callback.answer()
    record = await guardian_record(session, guardian=guardian, locale=guardian.locale)
    out = [_("Your answers:")]
    if not record.checkins:
        out.append(_("none yet"))
    for item in record.checkins:
        about = escape(item.nickname) if item.nickname else _("you")
        out.append("")
        out.append(f"<b>{item.at.date().isoformat()} · {escape(item.title)} · {about}</b>")
        out.extend(f"• {escape(q)} — {escape(a)}" for q, a in item.answers)
    out += ["", _("Your words kept for the child director:")]
    out.extend(f"• {at.date().isoformat()}: “{escape(text)}”" for at, text in record.words)
    if not record.words:
        out.append(_("none"))
    out += ["", _("Calls and home visits the child director logged with your family:")]
    methods = {"call": _("phone call"), "visit": _("home visit")}
    out.extend(f"• {at.date().isoformat()}: {methods.get(m, m)}" for at, m in record.contacts)
    if not record.contacts:
        out.append(_("none"))
    if record.own_alerts:
        out += ["", _("Times your own answers or words asked the child director to follow up: {n} "
                      "(the latest on {date}). This record is kept without names after you erase your data.").format(
            n=len(record.own_alerts), date=record.own_alerts[-1][0].date().isoformat())]
    for chunk in _chunks("\n".join(out)):
        await bot.send_message(callback.from_user.id, chunk)


def _chunks(text: str) -> list[str]:
    parts, current = [], ""
    for line in text.split("\n"):
        if current and len(current) + len(line) + 1 > MESSAGE_MAX:
            parts.append(current)
            current = ""
        current = f"{current}\n{line}" if current else line
    return [*parts, current] if current else parts


def make_router() -> Router:
    router = Router(name="mydata")
    router.message.filter(is_guardian)
    router.callback_query.filter(is_guardian)
    router.message.register(on_mydata, Command("mydata"))
    router.callback_query.register(on_full, MyDataCB.filter())
    return router
