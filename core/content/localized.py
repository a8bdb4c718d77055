"""Texts given once per shipped locale (zh-Hans, en): the one check every content file, API
body and campaign uses, so the rule and its wording live in one place."""
from __future__ import annotations

from core.config import SUPPORTED_LOCALES


def check_localized(value: dict[str, str], *, what: str = "text", max_chars: int | None = None) -> dict[str, str]:
    """Every supported locale present and non-blank, no others, none too long; returns the
    texts stripped. Raises ValueError (pydantic turns it into a field error)."""
    missing = [loc for loc in SUPPORTED_LOCALES if not (value.get(loc) or "").strip()]
    if missing:
        raise ValueError(f"missing {what} for {', '.join(missing)}")
    unknown = sorted(set(value) - set(SUPPORTED_LOCALES))
    if unknown:
        raise ValueError(f"unknown locale {', '.join(unknown)}")
    if max_chars is not None:
        too_long = [loc for loc in SUPPORTED_LOCALES if len(value[loc].strip()) > max_chars]
        if too_long:
            raise ValueError(f"longer than {max_chars} characters in {', '.join(too_long)}")
    return {loc: value[loc].strip() for loc in SUPPORTED_LOCALES}
