"""Keyboards for the steps of a flow (enrolment, joining, adding or correcting a child)."""
from __future__ import annotations

from aiogram.types import InlineKeyboardMarkup, KeyboardButton, ReplyKeyboardMarkup, ReplyKeyboardRemove
from aiogram.utils.i18n import gettext as _
from aiogram.utils.keyboard import InlineKeyboardBuilder

from bot.keyboards.callbacks import ConsentCB, StepCB
from bot.texts import RELATIONSHIPS, SEXES, month_names
from core.models import Draft

LANGUAGE_NAMES = {"zh-Hans": "简体中文", "en": "English"}


def _step(draft: Draft, value: str) -> str:
    return StepCB(draft_id=draft.id, step=draft.step, value=value).pack()


def language(draft: Draft) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for locale, name in LANGUAGE_NAMES.items():
        kb.button(text=name, callback_data=_step(draft, locale))
    kb.adjust(2)
    return kb.as_markup()


def consent(draft: Draft, version: int) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("I agree"), callback_data=ConsentCB(draft_id=draft.id, agree=True, version=version))
    kb.button(text=_("I do not agree"), callback_data=ConsentCB(draft_id=draft.id, agree=False, version=version))
    kb.adjust(2)
    return kb.as_markup()


def relationship(draft: Draft) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value, label in RELATIONSHIPS.items():
        kb.button(text=str(label), callback_data=_step(draft, value))
    kb.adjust(2)
    return kb.as_markup()


def residence(draft: Draft) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("I live with the children"), callback_data=_step(draft, "with"))
    kb.button(text=_("I work away from them"), callback_data=_step(draft, "away"))
    kb.adjust(1)
    return kb.as_markup()


def birth_year(draft: Draft, years: list[int]) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for year in years:
        kb.button(text=str(year), callback_data=_step(draft, str(year)))
    kb.adjust(4)
    return kb.as_markup()


def birth_month(draft: Draft, locale: str) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for month, name in month_names(locale).items():
        kb.button(text=name, callback_data=_step(draft, str(month)))
    kb.adjust(4)
    return kb.as_markup()


def sex(draft: Draft) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    for value, label in SEXES.items():
        kb.button(text=str(label), callback_data=_step(draft, value))
    kb.button(text=_("Prefer not to say"), callback_data=_step(draft, "none"))
    kb.adjust(2, 1)
    return kb.as_markup()


def more_children(draft: Draft) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Add another child"), callback_data=_step(draft, "more"))
    kb.button(text=_("That's all"), callback_data=_step(draft, "done"))
    kb.adjust(1)
    return kb.as_markup()


def cancel_only(draft: Draft) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Cancel"), callback_data=_step(draft, "cancel"))
    return kb.as_markup()


def confirm(draft: Draft) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    flow = draft.flow
    kb.button(text=_("Yes, that's right"), callback_data=_step(draft, "yes"))
    if flow == "enrol":
        kb.button(text=_("Enter the children again"), callback_data=_step(draft, "restart"))
    elif flow == "join":
        kb.button(text=_("Change my answers"), callback_data=_step(draft, "restart"))
    else:
        kb.button(text=_("Start again"), callback_data=_step(draft, "restart"))
        kb.button(text=_("Cancel"), callback_data=_step(draft, "cancel"))
    kb.adjust(1)
    return kb.as_markup()


def skip_word() -> str:
    """The reply-keyboard button that skips the phone number (it arrives as typed text)."""
    return _("Skip")


def share_phone() -> ReplyKeyboardMarkup:
    """Telegram's own share-contact button (request_contact) — a reply keyboard, the only kind
    that can ask for the number — and a skip button. Removed again once they answer."""
    return ReplyKeyboardMarkup(
        keyboard=[[KeyboardButton(text=_("📱 Share my number"), request_contact=True)],
                  [KeyboardButton(text=skip_word())]],
        resize_keyboard=True, one_time_keyboard=True,
    )


def no_reply_keyboard() -> ReplyKeyboardRemove:
    return ReplyKeyboardRemove()


def skip(draft: Draft) -> InlineKeyboardMarkup:
    kb = InlineKeyboardBuilder()
    kb.button(text=_("Skip"), callback_data=_step(draft, "skip"))
    if draft.flow == "edit_identity":
        kb.button(text=_("Cancel"), callback_data=_step(draft, "cancel"))
    kb.adjust(1)
    return kb.as_markup()
