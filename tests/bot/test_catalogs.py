"""The gettext catalogs are complete: every interface string has a real translation."""
from __future__ import annotations

import string

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.pofile import read_po

from core.config import PROJECT_ROOT

LOCALES = PROJECT_ROOT / "locales"


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    with (LOCALES / locale / "LC_MESSAGES" / "messages.po").open("rb") as fh:
        return read_po(fh, locale=locale)


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("locale", ["zh_Hans", "en"])
def test_every_msgid_has_a_translation_with_the_same_placeholders(locale: str) -> None:
    problems = []
    for message in _catalog(locale):
        if not message.id:
            continue
        if not message.string or not message.string.strip():
            problems.append(f"empty: {message.id!r}")
        elif message.fuzzy:
            problems.append(f"fuzzy: {message.id!r}")
        elif _fields(message.id) != _fields(message.string):
            problems.append(f"placeholders differ: {message.id!r} -> {message.string!r}")
    assert not problems, "\n".join(problems)


def test_catalogs_cover_every_string_in_the_code() -> None:
    """Catches a new _() string added without running `make i18n`."""
    keywords = dict(DEFAULT_KEYWORDS, __=None, lazy_gettext=None)
    in_code = set()
    for package in ("bot", "core"):
        for _, _, message, _, _ in extract_from_dir(PROJECT_ROOT / package, keywords=keywords):
            in_code.add(message)
    for locale in ("zh_Hans", "en"):
        in_catalog = {m.id for m in _catalog(locale) if m.id}
        assert not in_code - in_catalog, f"{locale} lacks: {sorted(in_code - in_catalog)}"
