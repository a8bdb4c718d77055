"""The console sign-in message (core.staff.websessions): a six-digit code, and a one-time link
when the console's public address is configured."""
from __future__ import annotations

from html import escape
from typing import Any

from aiogram.utils.i18n import gettext as _


def signin_html(content: dict[str, Any]) -> str:
    text = _("Your code to sign in to the Shouwang console: <b>{code}</b>\nIt works once, for {minutes} minutes, "
             "in the browser where you asked for it. If you did not ask for it, ignore this message.").format(
        code=escape(str(content.get("code", ""))), minutes=int(content.get("minutes", 15)))
    if content.get("link"):
        text += "\n\n" + _("Or open this link to sign in: {link}").format(link=escape(content["link"]))
    return text
