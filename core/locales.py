"""Locale ids: BCP 47 in content and the API (zh-Hans, en); Babel folders zh_Hans and en."""
from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import TypeVar

from core.config import SUPPORTED_LOCALES

_BABEL = {"zh-Hans": "zh_Hans", "en": "en"}
# The programme's own language: every content file and catalog has it, so it is where every
# fallback ends.
DEFAULT_LOCALE = "zh-Hans"

T = TypeVar("T")


def pick_locale(*preferred: str | None, available: Collection[str] = SUPPORTED_LOCALES) -> str:
    """The first preferred locale that is available (a person's own, then their cohort's
    default …), else DEFAULT_LOCALE. The one place a locale falls back."""
    for locale in preferred:
        if locale and locale in available:
            return locale
    return DEFAULT_LOCALE


def localized(texts: Mapping[str, T] | None, *preferred: str | None, default: T) -> T:
    """A content text in the first preferred locale that has a non-empty one, else in
    DEFAULT_LOCALE, else `default`."""
    for locale in (*preferred, DEFAULT_LOCALE):
        if locale and texts and texts.get(locale):
            return texts[locale]
    return default


def to_babel(locale: str) -> str:
    return _BABEL.get(locale, _BABEL[DEFAULT_LOCALE])


def from_telegram(language_code: str | None, fallback: str) -> str:
    """Map Telegram's language_code (zh, zh-hans, zh-cn, zh-hant, en-us, …) to a supported locale.

    Any Chinese variant maps to zh-Hans: it is the only Chinese we ship, and a zh-Hant reader
    reads it far better than English. Unknown languages get the cohort's default.
    """
    if not language_code:
        return pick_locale(fallback)
    primary = language_code.strip().lower().replace("_", "-").split("-")[0]
    if primary == "zh":
        return "zh-Hans"
    if primary == "en":
        return "en"
    return pick_locale(fallback)

