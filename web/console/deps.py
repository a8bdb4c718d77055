"""What every console page needs: one database transaction per request (committed before the
response is sent), the signed-in staff member and their scope, and the CSRF check on forms.
A request without a live session is sent to the sign-in page (SignInRequired → 303)."""
from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from fastapi import Depends, Path, Request
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope, scope_for
from core.errors import DomainError, Forbidden
from core.models import Staff, StaffWebSession
from core.staff import websessions

SESSION_COOKIE = "sw_console"
BROWSER_COOKIE = "sw_console_browser"  # binds a Telegram code to the browser that asked for it
LOGIN_COOKIE = "sw_console_login"  # the sign-in forms' pre-session CSRF token


class SignInRequired(Exception):
    def __init__(self, next_path: str) -> None:
        super().__init__(next_path)
        self.next_path = next_path


class CsrfFailed(DomainError):
    code = "csrf"
    status = 403


def now_of(request: Request) -> datetime:
    return request.app.state.clock()


async def db(request: Request) -> AsyncIterator[AsyncSession]:
    async with request.app.state.sessionmaker() as session:
        try:
            yield session
        except BaseException:
            await session.rollback()
            raise
        await session.commit()


DB = Annotated[AsyncSession, Depends(db, scope="function")]
Now = Annotated[datetime, Depends(now_of)]


@dataclass
class Console:
    """The signed-in reader of a page."""

    staff: Staff
    scope: Scope
    web_session: StaffWebSession
    csrf: str
    now: datetime

    @property
    def role(self) -> str:
        return self.staff.role

    def require_admin(self) -> None:
        if not self.scope.is_admin:
            raise Forbidden("only admins can do this")


async def console(request: Request, session: DB, now: Now) -> Console:
    token = request.cookies.get(SESSION_COOKIE)
    found = await websessions.current(session, token=token, now=now)
    if found is None or token is None:
        path = request.url.path[len(request.scope.get("root_path", "")):] or "/"
        raise SignInRequired(path + (f"?{request.url.query}" if request.url.query else ""))
    row, staff = found
    request.state.staff_id = staff.id
    return Console(staff=staff, scope=await scope_for(session, staff), web_session=row,
                   csrf=websessions.csrf_token(token), now=now)


Reader = Annotated[Console, Depends(console)]


async def form_of(request: Request) -> dict[str, Any]:
    form = await request.form()
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def checked_form(request: Request, reader: Reader) -> dict[str, Any]:
    """A POSTed form whose CSRF field matches the session's token (else 403)."""
    form = await form_of(request)
    token = request.cookies.get(SESSION_COOKIE) or ""
    if not websessions.csrf_ok(token, form.get("csrf")):
        raise CsrfFailed("the form's security token is missing or wrong; reload the page and try again")
    return form


Form = Annotated[dict[str, Any], Depends(checked_form)]


# A row id in a path: positive and within a 32-bit INTEGER column (a larger one is bad input, not a
# database error on PostgreSQL).
IdPath = Annotated[int, Path(ge=1, le=2_147_483_647)]
