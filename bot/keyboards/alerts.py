"""Buttons for staff: on an alert card, and the choices that follow (how you made contact, where
you referred, how it ended). Versioned: never change a prefix's fields."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _

from bot.alert_render import METHODS, OUTCOMES, REFERRALS


class AlertCB(CallbackData, prefix="al1"):
    alert_id: int
    action: str  # ack | contact | refer | resolve | open


class ContactCB(CallbackData, prefix="ct1"):
    """A call or a home visit about an alert, a case, or a household (the monthly visit)."""

    target: str  # alert | case | household
    target_id: int
    method: str  # call | visit | "" (choose)


class ReferCB(CallbackData, prefix="rf1"):
    alert_id: int
    to: str


class OutcomeCB(CallbackData, prefix="oc1"):
    alert_id: int
    outcome: str


class PromptCB(CallbackData, prefix="pm1"):
    action: str  # skip | cancel


class CaseCB(CallbackData, prefix="cs1"):
    case_id: int
    action: str  # note


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def card_keyboard(alert_id: int, status: str) -> InlineKeyboardMarkup | None:
    if status == "resolved":
        return None
    rows = []
    if status == "open":
        rows.append([_button(_("✅ Acknowledge"), AlertCB(alert_id=alert_id, action="ack"))])
    rows.append([_button(_("📞 Log a contact"), AlertCB(alert_id=alert_id, action="contact")),
                 _button(_("➡️ Refer"), AlertCB(alert_id=alert_id, action="refer"))])
    rows.append([_button(_("✔️ Resolve"), AlertCB(alert_id=alert_id, action="resolve"))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def methods_keyboard(target: str, target_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [_button(str(label), ContactCB(target=target, target_id=target_id, method=method))]
        for method, label in METHODS.items()
    ] + [[_button(_("Cancel"), PromptCB(action="cancel"))]])


def referrals_keyboard(alert_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [_button(str(label), ReferCB(alert_id=alert_id, to=to))] for to, label in REFERRALS.items()
    ] + [[_button(_("Cancel"), PromptCB(action="cancel"))]])


def outcomes_keyboard(alert_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[
        [_button(str(label), OutcomeCB(alert_id=alert_id, outcome=outcome))] for outcome, label in OUTCOMES.items()
    ] + [[_button(_("Cancel"), PromptCB(action="cancel"))]])


def note_keyboard() -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(_("Skip the note"), PromptCB(action="skip")),
                                                  _button(_("Cancel"), PromptCB(action="cancel"))]])


def open_alerts_keyboard(items: list[tuple[int, str]]) -> InlineKeyboardMarkup | None:
    if not items:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[_button(text, AlertCB(alert_id=alert_id, action="open"))]
                                                 for alert_id, text in items])


def case_keyboard(case_id: int) -> InlineKeyboardMarkup:
    return InlineKeyboardMarkup(inline_keyboard=[[_button(_("📝 Add a note"), CaseCB(case_id=case_id, action="note"))]])


def visits_keyboard(household_ids: list[int]) -> InlineKeyboardMarkup | None:
    if not household_ids:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[
        [_button(_("Log a visit or call: household #{id}").format(id=h),
                 ContactCB(target="household", target_id=h, method=""))]
        for h in household_ids[:20]
    ])
