"""Rendering helpers shared by the console's pages: the page's language, times in the
programme's time zone, durations, and redirects after a form (POST-redirect-GET)."""
from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse

from web.console.deps import Console
from web.rendering import pick_locale


def local_time(value: datetime | None, zone: str = "Asia/Shanghai") -> str:
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d %H:%M")


def local_date(value: datetime | None, zone: str = "Asia/Shanghai") -> str:
    if value is None:
        return "—"
    return value.astimezone(ZoneInfo(zone)).strftime("%Y-%m-%d")


def minutes_between(start: datetime | None, end: datetime) -> int:
    return 0 if start is None else max(0, int((end - start).total_seconds() // 60))


def url(request: Request, path: str) -> str:
    """A path inside the console (its mount prefix in front)."""
    return request.scope.get("root_path", "") + path


def page_locale(request: Request, reader: Console | None) -> str:
    """The page's language: ?lang=, the lang cookie, the browser's, then the staff member's own."""
    return pick_locale(request, default=reader.staff.locale if reader else "zh-Hans")


def render(request: Request, template: str, *, reader: Console | None = None, status_code: int = 200,
           locale: str | None = None, **context: Any) -> HTMLResponse:
    pages = request.app.state.pages
    locale = locale or page_locale(request, reader)
    env = pages.env(locale)
    if "when" not in env.filters:
        zone = request.app.state.settings.default_timezone
        env.filters["when"] = lambda v, z=None: local_time(v, z or zone)
        env.filters["day"] = lambda v, z=None: local_date(v, z or zone)
        env.globals["minutes_between"] = minutes_between
    return pages.render(request, template, status_code=status_code, locale=locale, reader=reader,
                        base=request.scope.get("root_path", ""), **context)


def back(request: Request, path: str, **query: Any) -> RedirectResponse:
    """303 to a console page after a form, with an optional note to show (?done=…)."""
    from urllib.parse import urlencode

    tail = f"?{urlencode({k: v for k, v in query.items() if v is not None})}" if query else ""
    return RedirectResponse(url(request, path) + tail, status_code=303)
