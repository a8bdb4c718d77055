"""Buttons under lessons and their follow-ups. Versioned: never change a prefix's fields."""
from __future__ import annotations

from typing import Any

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _


class LessonCB(CallbackData, prefix="l1"):
    """One-tap answers about a lesson delivery: question helpful (yes/no) or tried (yes/not_yet/no)."""

    delivery_id: int
    question: str
    answer: str


class ReReadCB(CallbackData, prefix="r1"):
    """Open a lesson again from /history (by the delivery that carried it)."""

    delivery_id: int


def _lesson_cb(delivery_id: int, question: str, answer: str) -> str:
    """LessonCB(...).pack() without building the model (the sender writes two or three per
    lesson, at up to 1,000 lessons a second): the same string, by construction of its fields —
    an int and two fixed words (tests/bot/test_keyboards_lessons.py holds them equal)."""
    sep = LessonCB.__separator__
    return f"{LessonCB.__prefix__}{sep}{int(delivery_id)}{sep}{question}{sep}{answer}"


def feedback_markup(delivery_id: int) -> dict[str, Any]:
    """The buttons under a lesson as the Bot API's JSON (what the outbox sender posts)."""
    return {"inline_keyboard": [[
        {"text": _("👍 Helpful"), "callback_data": _lesson_cb(delivery_id, "helpful", "yes")},
        {"text": _("👎 Not for me"), "callback_data": _lesson_cb(delivery_id, "helpful", "no")},
    ]]}


def tried_markup(delivery_id: int) -> dict[str, Any]:
    """The buttons under a lesson's follow-up as the Bot API's JSON."""
    def button(text: str, answer: str) -> dict[str, str]:
        return {"text": text, "callback_data": _lesson_cb(delivery_id, "tried", answer)}

    return {"inline_keyboard": [
        [button(_("Yes, I tried it"), "yes"), button(_("Not yet"), "not_yet")],
        [button(_("It did not suit us"), "no")],
    ]}


def feedback_keyboard(delivery_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup.model_validate(feedback_markup(delivery_id))


def tried_keyboard(delivery_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup.model_validate(tried_markup(delivery_id))


def history_keyboard(items: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=title, callback_data=ReReadCB(delivery_id=delivery_id).pack())]
        for delivery_id, title in items
    ])
