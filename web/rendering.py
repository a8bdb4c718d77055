"""Jinja2 templates translated with the project's gettext catalogs (locales/), and the choice
of a page's language: `?lang=`, then the `lang` cookie, then the browser's Accept-Language."""
from __future__ import annotations

import io
from functools import lru_cache
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import Translations
from fastapi import Request
from fastapi.responses import HTMLResponse
from jinja2 import Environment, FileSystemLoader, select_autoescape

from core.config import SUPPORTED_LOCALES
from core.locales import locale_of_tag, to_babel

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"
DOMAIN = "messages"
LANG_COOKIE = "lang"


def pick_locale(request: Request, default: str = "zh-Hans") -> str:
    """BCP 47 id of the page's language. Any Chinese is zh-Hans (the only Chinese we ship)."""
    for candidate in (request.query_params.get("lang"), request.cookies.get(LANG_COOKIE)):
        if candidate in SUPPORTED_LOCALES:
            return candidate
    for part in request.headers.get("accept-language", "").split(","):
        chosen = locale_of_tag(part.split(";")[0])
        if chosen is not None:
            return chosen
    return default


@lru_cache(maxsize=8)
def _translations(locales_dir: Path, locale: str) -> Translations:
    """The catalog straight from the committed .po (compiled in memory, fuzzy entries left out as
    msgfmt does), so pages never depend on a build step having run."""
    po = locales_dir / to_babel(locale) / "LC_MESSAGES" / f"{DOMAIN}.po"
    if not po.exists():
        return Translations()
    with po.open("rb") as fh:
        catalog = read_po(fh, locale=to_babel(locale), domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


class Pages:
    """One Jinja2 environment per locale (translations are installed per environment, so two
    requests in different languages never see each other's strings)."""

    def __init__(self, locales_dir: Path, *, extra_dirs: list[Path] | None = None) -> None:
        self.locales_dir = locales_dir
        self.dirs = [*(extra_dirs or []), TEMPLATES]
        self._envs: dict[str, Environment] = {}

    def env(self, locale: str) -> Environment:
        env = self._envs.get(locale)
        if env is None:
            env = Environment(loader=FileSystemLoader([str(d) for d in self.dirs]),
                              autoescape=select_autoescape(["html", "xml"]),
                              extensions=["jinja2.ext.i18n"], trim_blocks=True, lstrip_blocks=True)
            env.install_gettext_translations(_translations(self.locales_dir, locale), newstyle=True)
            env.globals["locale"] = locale
            env.globals["html_lang"] = "zh-Hans" if locale == "zh-Hans" else "en"
            self._envs[locale] = env
        return env

    def gettext(self, locale: str):  # noqa: ANN201 — a plain gettext function for code, not templates
        return _translations(self.locales_dir, locale).gettext

    def render(self, request: Request, template: str, *, status_code: int = 200,
               locale: str | None = None, **context: Any) -> HTMLResponse:
        locale = locale or pick_locale(request)
        html = self.env(locale).get_template(template).render(request=request, **context)
        response = HTMLResponse(html, status_code=status_code)
        if request.query_params.get("lang") in SUPPORTED_LOCALES:
            response.set_cookie(LANG_COOKIE, locale, max_age=365 * 24 * 3600, httponly=True, samesite="lax")
        return response
