"""Keyboards for an enrolled guardian's commands: settings, children, stop and delete."""
from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.callbacks import ChildCB, LeaveCB, SettingsCB
from bot.keyboards.flow import LANGUAGE_NAMES
from core.models import Child, Guardian
from core.models.enums import GuardianStatus


def settings(guardian: Guardian) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Change language"), callback_data=SettingsCB(action="language"))
    if guardian.status == GuardianStatus.paused:
        kb.button(text=_("Resume lessons"), callback_data=SettingsCB(action="resume"))
    else:
        kb.button(text=_("Pause lessons"), callback_data=SettingsCB(action="pause"))
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
