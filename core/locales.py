"""Locale ids: BCP 47 in content and the API (zh-Hans, en); Babel folders zh_Hans and en."""
from __future__ import annotations

from core.config import SUPPORTED_LOCALES

_BABEL = {"zh-Hans": "zh_Hans", "en": "en"}


def to_babel(locale: str) -> str:
    return _BABEL.get(locale, "zh_Hans")


def from_telegram(language_code: str | None, fallback: str) -> str:
    """Map Telegram's language_code (zh, zh-hans, zh-cn, zh-hant, en-us, …) to a supported locale.

    Any Chinese variant maps to zh-Hans: it is the only Chinese we ship, and a zh-Hant reader
    reads it far better than English. Unknown languages get the cohort's default.
    """
    if not language_code:
        return fallback
    primary = language_code.strip().lower().replace("_", "-").split("-")[0]
    if primary == "zh":
        return "zh-Hans"
    if primary == "en":
        return "en"
    return fallback if fallback in SUPPORTED_LOCALES else "zh-Hans"


def telegram_command_language(locale: str) -> str:
    """setMyCommands wants two-letter codes."""
    return "zh" if locale == "zh-Hans" else "en"
