"""What every mobile page needs: a database session per request, the signed-in guardian from the
session cookie, the page's language (the guardian's own unless they picked another here), and
rendering. Routes only translate: what to show comes from core."""
from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from sqlalchemy.ext.asyncio import AsyncSession

from core.config import SUPPORTED_LOCALES
from core.models import Guardian
from core.webauth.keys import load_secret
from core.webauth.service import guardian_for
from web.rendering import LANG_COOKIE, pick_locale

SESSION_COOKIE = "sw_session"
CHALLENGE_COOKIE = "sw_code"  # the pending sign-in's challenge, for 10 minutes


def secret(request: Request) -> bytes:
    state = request.app.state
    if getattr(state, "web_secret", None) is None:
        state.web_secret = load_secret(state.settings)
    return state.web_secret


def now(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.clock()


@asynccontextmanager
async def db(request: Request) -> AsyncIterator[AsyncSession]:
    """One transaction: committed when the block ends normally, rolled back on an error."""
    async with request.app.state.sessionmaker() as session, session.begin():
        yield session


async def signed_in(request: Request, session: AsyncSession) -> Guardian | None:
    return await guardian_for(session, token=request.cookies.get(SESSION_COOKIE), secret=secret(request),
                              now=now(request))


def locale_for(request: Request, guardian: Guardian | None) -> str:
    chosen = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if chosen in SUPPORTED_LOCALES:
        return chosen  # type: ignore[return-value]
    if guardian is not None and guardian.locale in SUPPORTED_LOCALES:
        return guardian.locale
    return pick_locale(request, request.app.state.settings.default_locale)


def render(request: Request, template: str, *, guardian: Guardian | None = None, status_code: int = 200,
           locale: str | None = None, **context: Any) -> HTMLResponse:
    """`locale`: the language of someone no longer signed in (just erased), unless the page's own
    choice (?lang=, the cookie) says otherwise."""
    if locale is None or request.query_params.get("lang") or request.cookies.get(LANG_COOKIE):
        locale = locale_for(request, guardian)
    return request.app.state.pages.render(request, f"mobile/{template}", status_code=status_code,
                                          locale=locale, guardian=guardian,
                                          base=request.scope.get("root_path", ""), **context)


def go(request: Request, path: str) -> RedirectResponse:
    """POST → redirect → GET (303), so a reload never submits twice."""
    return RedirectResponse(request.scope.get("root_path", "") + path, status_code=303)


def signin_page(request: Request) -> RedirectResponse:
    return go(request, "/signin")


def is_phone_browser(request: Request) -> bool:
    agent = request.headers.get("user-agent", "")
    return any(word in agent for word in ("Mobile", "Android", "iPhone", "MicroMessenger"))


def set_cookie(request: Request, response, name: str, value: str, *, max_age: int) -> None:  # type: ignore[no-untyped-def]
    response.set_cookie(name, value, max_age=max_age, httponly=True, samesite="lax",
                        secure=request.app.state.settings.web_cookie_secure,
                        path=request.scope.get("root_path", "") + "/" if request.scope.get("root_path") else "/")
