"""Buttons for inbox items: on a director's card (reply, call noted, done), and the guardian's
answer to "which child is this about?". Versioned: never change a prefix's fields."""
from __future__ import annotations

from aiogram.filters.callback_data import CallbackData
from aiogram.types import InlineKeyboardButton, InlineKeyboardMarkup
from aiogram.utils.i18n import gettext as _



class InboxCB(CallbackData, prefix="ib1"):
    item_id: int
    action: str  # reply | call | done | open


class InboxChildCB(CallbackData, prefix="ik1"):
    item_id: int
    child_id: int  # 0: the whole family


def _button(text: str, data: CallbackData) -> InlineKeyboardButton:
    return InlineKeyboardButton(text=text, callback_data=data.pack())


def inbox_card_keyboard(item_id: int, state: str) -> InlineKeyboardMarkup | None:
    if state == "done":
        return InlineKeyboardMarkup(inline_keyboard=[[_button(_("↩️ Reply"), InboxCB(item_id=item_id,
                                                                                      action="reply"))]])
    return InlineKeyboardMarkup(inline_keyboard=[
        [_button(_("↩️ Reply"), InboxCB(item_id=item_id, action="reply")),
         _button(_("📞 Call noted"), InboxCB(item_id=item_id, action="call"))],
        [_button(_("✔️ Done"), InboxCB(item_id=item_id, action="done"))],
    ])


def open_items_keyboard(items: list[tuple[int, str]]) -> InlineKeyboardMarkup | None:
    if not items:
        return None
    return InlineKeyboardMarkup(inline_keyboard=[[_button(text, InboxCB(item_id=i, action="open"))]
                                                 for i, text in items])


def which_child_keyboard(item_id: int, children: list[tuple[int, str]]) -> InlineKeyboardMarkup:
    rows = [[_button(name, InboxChildCB(item_id=item_id, child_id=cid))] for cid, name in children]
    rows.append([_button(_("The whole family"), InboxChildCB(item_id=item_id, child_id=0))])
    return InlineKeyboardMarkup(inline_keyboard=rows)


def news_keyboard(alert_id: int) -> InlineKeyboardMarkup:
    from bot.keyboards.alerts import AlertCB

    return InlineKeyboardMarkup(inline_keyboard=[[_button(_("Open the card"), AlertCB(alert_id=alert_id,
                                                                                        action="open"))]])
