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


def locale_of_tag(language_tag: str | None) -> str | None:
    """The supported locale a device's language tag asks for (a chat app's language_code, one
    entry of a browser's Accept-Language: zh, zh-hans, zh-CN, zh_TW, en-us …), or None.

    Any Chinese variant maps to zh-Hans: it is the only Chinese we ship, and a zh-Hant reader
    reads it far better than English."""
    if not language_tag:
        return None
    primary = language_tag.strip().lower().replace("_", "-").split("-")[0]
    if primary == "zh":
        return "zh-Hans"
    if primary == "en":
        return "en"
    return None


def from_language_tag(language_tag: str | None, fallback: str) -> str:
    """locale_of_tag, or the cohort's default for a language we do not ship."""
    return locale_of_tag(language_tag) or pick_locale(fallback)
