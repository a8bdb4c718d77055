"""How a lesson, its follow-up and a campaign message look in Telegram (HTML)."""
from __future__ import annotations

from html import escape
from typing import Any

from aiogram.utils.i18n import gettext as _

from core.content.markup import to_html
from core.locales import localized

CAPTION_LIMIT = 1024  # Telegram's caption limit; longer lessons go as text after the media


def lesson_html(content: dict[str, Any]) -> str:
    parts = [f"<b>{escape(content.get('title', ''))}</b>", to_html(content.get("body", ""))]
    if content.get("try_today"):
        parts.append("💡 <b>{label}</b> {text}".format(
            label=escape(_("Try this today:")), text=to_html(content["try_today"])))
    return "\n\n".join(p for p in parts if p)


def followup_html(content: dict[str, Any]) -> str:
    return escape(_("A few days ago you read “{title}”. Did you get a chance to try it?").format(
        title=content.get("title", "")))


def campaign_html(content: dict[str, Any], locale: str) -> str:
    texts = content.get("texts") or {}
    return to_html(localized(texts, locale, default=""))
