"""A guardian's own data on the web, and leaving: what the web consent text promises in place of
the bot's /mydata, /stop and /delete, through the same core services as the bot. "My data" shows
their own record and their children's basic details only (never another guardian's, nor anyone's
answers: the page may be read on a shared phone). Stopping and erasing are each confirmed on a
page of their own first; both are plain forms and safe to send twice."""
from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response

from core.enrolment import notices
from core.enrolment import service as enrolment
from core.people import display_phone
from web.mobile.common import SESSION_COOKIE, db, now, render, signed_in, signin_page

router = APIRouter()


@router.get("/me", response_class=HTMLResponse)
async def my_data(request: Request) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        data = await enrolment.guardian_data(session, guardian=guardian)
    return render(request, "me.html", guardian=guardian, data=data, phone=display_phone(guardian.phone))


@router.get("/me/stop", response_class=HTMLResponse)
@router.get("/me/delete", response_class=HTMLResponse)
async def confirm_leaving(request: Request) -> Response:
    """Stopping and deleting are each confirmed first, on the same page with their own words."""
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
    return render(request, "leave.html", guardian=guardian, action=request.url.path.rsplit("/", 1)[-1])


@router.post("/me/stop", response_class=HTMLResponse)
async def stop(request: Request) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)  # None once stopped: a second press lands here
        if guardian is None:
            return render(request, "left.html", action="stopped_or_out")
        when = now(request)
        enrolment.stop_guardian(guardian, now=when)
        await notices.guardian_left(session, guardian=guardian, how=notices.STOPPED, now=when)
    return render(request, "left.html", guardian=None, action="stopped")


@router.post("/me/delete", response_class=HTMLResponse)
async def delete(request: Request) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:  # erased a moment ago (a second press), or signed out
            return render(request, "left.html", action="stopped_or_out")
        locale = guardian.locale if guardian.locale in ("zh-Hans", "en") else None
        household_gone = await enrolment.erase_guardian(
            session, guardian=guardian, now=now(request),
            recordings_root=request.app.state.settings.recordings_root)
    # Their sessions went with them; the cookie goes too. The page keeps their language.
    response = render(request, "left.html", action="erased", household_gone=household_gone, locale=locale)
    response.delete_cookie(SESSION_COOKIE, path=request.scope.get("root_path", "") + "/")
    return response
