from __future__ import annotations

import pytest

from core.locales import DEFAULT_LOCALE, from_language_tag, locale_of_tag, localized, pick_locale, to_babel


@pytest.mark.parametrize(
    ("code", "fallback", "expected"),
    [
        ("zh", "en", "zh-Hans"),
        ("zh-hans", "en", "zh-Hans"),
        ("zh-CN", "en", "zh-Hans"),
        ("zh_TW", "en", "zh-Hans"),
        ("zh-hant", "en", "zh-Hans"),
        ("en", "zh-Hans", "en"),
        ("en-US", "zh-Hans", "en"),
        ("ru", "zh-Hans", "zh-Hans"),
        ("ru", "en", "en"),
        (None, "en", "en"),
        ("", "zh-Hans", "zh-Hans"),
    ],
)
def test_from_language_tag(code: str | None, fallback: str, expected: str) -> None:
    assert from_language_tag(code, fallback) == expected
    assert locale_of_tag(code) == (expected if code and code[:2].lower() in ("zh", "en") else None)


def test_babel_folders() -> None:
    assert to_babel("zh-Hans") == "zh_Hans"
    assert to_babel("en") == "en"
    assert to_babel("fr") == "zh_Hans"


@pytest.mark.parametrize(
    ("preferred", "available", "expected"),
    [
        (("en",), None, "en"),
        ((None, "en"), None, "en"),  # no personal locale: the cohort's default
        (("fr", "en"), None, "en"),
        (("fr",), None, DEFAULT_LOCALE),
        ((), None, DEFAULT_LOCALE),
        (("en",), ("zh-Hans",), "zh-Hans"),  # a questionnaire without English falls back
        (("en", "zh-Hans"), ("zh-Hans", "en"), "en"),
    ],
)
def test_pick_locale_falls_back_to_the_programme_language(preferred, available, expected) -> None:
    kwargs = {} if available is None else {"available": available}
    assert pick_locale(*preferred, **kwargs) == expected


def test_localized_text_skips_missing_and_empty_translations() -> None:
    texts = {"zh-Hans": "你好", "en": ""}
    assert localized(texts, "en", default="?") == "你好"
    assert localized({"zh-Hans": "你好", "en": "hello"}, "en", default="?") == "hello"
    assert localized({}, "en", default="?") == "?"
    assert localized(None, None, default={}) == {}
