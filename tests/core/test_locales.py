from __future__ import annotations

import pytest

from core.locales import from_telegram, telegram_command_language, to_babel


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
def test_from_telegram(code: str | None, fallback: str, expected: str) -> None:
    assert from_telegram(code, fallback) == expected


def test_babel_folders_and_command_languages() -> None:
    assert to_babel("zh-Hans") == "zh_Hans"
    assert to_babel("en") == "en"
    assert telegram_command_language("zh-Hans") == "zh"
    assert telegram_command_language("en") == "en"
