"""Interface strings: building aiogram's I18n from the gettext catalogs in locales/, and the
middleware that picks each update's language."""
from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from aiogram.types import TelegramObject
from aiogram.utils.i18n import I18n, I18nMiddleware
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from core.config import Settings
from core.locales import from_language_tag, to_babel

log = logging.getLogger(__name__)

DOMAIN = "messages"
DEFAULT_BABEL_LOCALE = "zh_Hans"


def compile_catalogs(source: Path, target: Path) -> Path:
    """Compile every <locale>/LC_MESSAGES/messages.po under `source` into `target` (.mo only).

    Fuzzy entries are left out, as msgfmt does: a guess is never shown to a guardian."""
    for po_path in sorted(source.glob(f"*/LC_MESSAGES/{DOMAIN}.po")):
        locale = po_path.parent.parent.name
        with po_path.open("rb") as fh:
            catalog = read_po(fh, locale=locale, domain=DOMAIN)
        mo_path = target / locale / "LC_MESSAGES" / f"{DOMAIN}.mo"
        mo_path.parent.mkdir(parents=True, exist_ok=True)
        with mo_path.open("wb") as fh:
            write_mo(fh, catalog, use_fuzzy=False)
    return target


def _needs_compiling(locales_dir: Path) -> bool:
    for po_path in locales_dir.glob(f"*/LC_MESSAGES/{DOMAIN}.po"):
        mo_path = po_path.with_suffix(".mo")
        if not mo_path.exists() or mo_path.stat().st_mtime < po_path.stat().st_mtime:
            return True
    return False


def build_i18n(settings: Settings) -> I18n:
    """aiogram's I18n over settings.locales_dir. The .mo files are build products (`make
    locales`); if they are missing or older than the .po files we compile a private copy under
    var/ rather than refuse to start or speak stale words."""
    path = settings.locales_dir
    if _needs_compiling(path):
        path = compile_catalogs(path, settings.var_dir / "locales")
        log.warning("gettext catalogs were not compiled; compiled them into %s", path)
    return I18n(path=path, default_locale=DEFAULT_BABEL_LOCALE, domain=DOMAIN)


class LocaleMiddleware(I18nMiddleware):
    """Picks the language: an unfinished flow's choice, then the guardian's, then the staff
    member's, then Telegram's language_code mapped to a locale we ship."""

    def __init__(self, i18n: I18n, *, fallback_locale: str) -> None:
        super().__init__(i18n=i18n)
        self.fallback_locale = fallback_locale

    async def get_locale(self, event: TelegramObject, data: dict[str, Any]) -> str:
        locale = data.get("person_locale")  # set by ContextMiddleware
        if locale:
            return to_babel(locale)
        user = data.get("event_from_user")
        language_code = user.language_code if user is not None else None
        return to_babel(from_language_tag(language_code, self.fallback_locale))
