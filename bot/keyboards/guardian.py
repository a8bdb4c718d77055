"""Keyboards for an enrolled guardian's commands: settings, children, stop and delete."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.callbacks import ChildCB, LeaveCB, PrefCB, SettingsCB
from bot.keyboards.flow import LANGUAGE_NAMES
from bot.texts import QUIET_PRESETS, TIMEZONES, quiet_hours_label, timezone_label
from core.models import Child, Guardian
from core.models.enums import GuardianStatus


def settings(guardian: Guardian) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Change language"), callback_data=SettingsCB(action="language"))
    kb.button(text=_("My name, phone and home"), callback_data=SettingsCB(action="identity"))
    if guardian.status == GuardianStatus.paused:
        kb.button(text=_("Resume lessons"), callback_data=SettingsCB(action="resume"))
    else:
        kb.button(text=_("Pause lessons"), callback_data=SettingsCB(action="pause"))
    kb.button(text=_("My time zone"), callback_data=PrefCB(what="tz_menu"))
    kb.button(text=_("Quiet hours"), callback_data=PrefCB(what="quiet_menu"))
    kb.adjust(1)
    return kb.as_markup()


def _tick(chosen: bool) -> str:
    return "✓ " if chosen else ""


def timezones(current: str | None, home: str, now: datetime) -> InlineKeyboardMarkup:
    """Home first, then the other zones, each with its time now: people know their own clock
    better than a zone's name."""
    kb = InlineKeyboardBuilder()
    kb.button(text=_tick(current in (None, home)) + _("Same as home ({zone})").format(zone=timezone_label(home)),
              callback_data=PrefCB(what="tz", value="home"))
    for tz in TIMEZONES:
        if tz == home:
            continue
        local = now.astimezone(ZoneInfo(tz)).strftime("%H:%M")
        kb.button(text=f"{_tick(current == tz)}{timezone_label(tz)} · {local}",
                  callback_data=PrefCB(what="tz", value=tz))
    kb.adjust(1)
    return kb.as_markup()


def quiet_hours(start: str, end: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for preset_start, preset_end, note in QUIET_PRESETS:
        text = _tick((start, end) == (preset_start, preset_end)) + quiet_hours_label(preset_start, preset_end)
        if note is not None:
            text += f" · {note}"
        value = f"{preset_start.replace(':', '')}-{preset_end.replace(':', '')}"
        kb.button(text=text, callback_data=PrefCB(what="quiet", value=value))
    kb.adjust(1)
    return kb.as_markup()


def languages() -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for locale, name in LANGUAGE_NAMES.items():
        kb.button(text=name, callback_data=SettingsCB(action="set_language", value=locale))
    kb.adjust(2)
    return kb.as_markup()


def children(items: list[Child]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for child in items:
        kb.button(text=_("Correct {nickname}").format(nickname=child.nickname),
                  callback_data=ChildCB(action="edit", child_id=child.id))
        kb.button(text=_("Remove {nickname}").format(nickname=child.nickname),
                  callback_data=ChildCB(action="remove", child_id=child.id))
    kb.button(text=_("Add a child"), callback_data=ChildCB(action="add"))
    kb.adjust(*([2] * len(items)), 1)
    return kb.as_markup()


def confirm_remove(child: Child) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Yes, remove"), callback_data=ChildCB(action="remove_yes", child_id=child.id))
    kb.button(text=_("No, keep"), callback_data=ChildCB(action="remove_no", child_id=child.id))
    kb.adjust(2)
    return kb.as_markup()


def confirm_leave(action: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    yes = _("Yes, stop messages") if action == "stop" else _("Yes, erase my data")
    kb.button(text=yes, callback_data=LeaveCB(action=action, confirm=True))
    kb.button(text=_("No, go back"), callback_data=LeaveCB(action=action, confirm=False))
    kb.adjust(1)
    return kb.as_markup()
