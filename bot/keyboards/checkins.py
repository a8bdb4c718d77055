"""Buttons of a check-in: one big button per answer, "back" to change the last answer, and
"no, that's all" after the note question. Versioned: never change a prefix's fields."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from core.checkin.views import QuestionView


class AnswerCB(CallbackData, prefix="a1"):
    """An answer: the check-in, the item's position in its (immutable) questionnaire version,
    and the choice's value."""

    checkin_id: int
    item: int
    value: int


class CheckinNavCB(CallbackData, prefix="n1"):
    checkin_id: int
    action: str  # back | no_note


def question_keyboard(view: QuestionView) -> InlineKeyboardMarkup:
    rows = [
        [InlineKeyboardButton(
            text=("✓ " if view.current == value else "") + label,
            callback_data=AnswerCB(checkin_id=view.checkin_id, item=view.index, value=value).pack(),
        )]
        for value, label in view.choices
    ]
    if view.can_go_back:
        rows.append([InlineKeyboardButton(
            text=_("⬅️ Back"), callback_data=CheckinNavCB(checkin_id=view.checkin_id, action="back").pack())])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def note_keyboard(checkin_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[InlineKeyboardButton(
        text=_("No, that's all"), callback_data=CheckinNavCB(checkin_id=checkin_id, action="no_note").pack())]])
