"""/mydata: in plain words, what Shouwang keeps about this guardian and their children."""
from __future__ import annotations

from html import escape

from aiogram import Router
from aiogram.filters import Command
from aiogram.types import Message
from aiogram.utils.i18n import gettext as _
from sqlalchemy.ext.asyncio import AsyncSession

from bot.handlers.guards import is_guardian
from bot.keyboards.flow import LANGUAGE_NAMES
from bot.texts import (
    child_lines,
    guardian_timezone_label,
    quiet_hours_label,
    relationship_label,
    residence_sentence,
)
from core.enrolment import service as enrolment
from core.models import Guardian


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
        _("To correct a child, send /children. To erase your data, send /delete."),
    ]
    await message.answer("\n".join(lines))


def make_router() -> Router:
    router = Router(name="mydata")
    router.message.filter(is_guardian)
    router.message.register(on_mydata, Command("mydata"))
    return router
