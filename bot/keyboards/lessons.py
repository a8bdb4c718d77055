"""Buttons under lessons and their follow-ups. Versioned: never change a prefix's fields."""
from __future__ import annotations

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


def feedback_keyboard(delivery_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[
        InlineKeyboardButton(text=_("👍 Helpful"),
                             callback_data=LessonCB(delivery_id=delivery_id, question="helpful", answer="yes").pack()),
        InlineKeyboardButton(text=_("👎 Not for me"),
                             callback_data=LessonCB(delivery_id=delivery_id, question="helpful", answer="no").pack()),
    ]])


def tried_keyboard(delivery_id: int) -> InlineKeyboardMarkup:
    def button(text: str, answer: str) -> InlineKeyboardButton:
        return InlineKeyboardButton(
            text=text, callback_data=LessonCB(delivery_id=delivery_id, question="tried", answer=answer).pack()
        )

    return InlineKeyboardMarkup(inline_keyboard=[
        [button(_("Yes, I tried it"), "yes"), button(_("Not yet"), "not_yet")],
        [button(_("It did not suit us"), "no")],
    ])


def history_keyboard(items: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [InlineKeyboardButton(text=title, callback_data=ReReadCB(delivery_id=delivery_id).pack())]
        for delivery_id, title in items
    ])
