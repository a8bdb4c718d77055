"""Signing in on the phone: number → 6-digit code by SMS → a 90-day session cookie; a staff
member's one-time link; signing out. Every refusal is its own clear page."""
from __future__ import annotations

import logging
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from core.errors import Invalid
from core.sms.notices import SIGN_IN_CODE, NoticeRefused
from core.sms.service import NoticeDeferred
from core.webauth import service as auth
from web.mobile.common import (CHALLENGE_COOKIE, SESSION_COOKIE, db, go, is_phone_browser, now, render, secret,
                               set_cookie, signed_in)

log = logging.getLogger(__name__)
router = APIRouter()


def _minutes_until(request: Request, until) -> int:  # type: ignore[no-untyped-def]
    return max(1, int((until - now(request)).total_seconds() + 59) // 60)


@router.get("/signin", response_class=HTMLResponse)
async def signin_form(request: Request) -> Response:
    async with db(request) as session:
        if await signed_in(request, session) is not None:
            return go(request, "/")
    return render(request, "signin.html", desktop=not is_phone_browser(request), phone="")


@router.post("/signin", response_class=HTMLResponse)
async def signin_send(request: Request, phone: Annotated[str, Form()] = "") -> Response:
    settings = request.app.state.settings
    ip = request.client.host if request.client else "-"
    if request.app.state.sms is None:  # said to every number alike, before looking any up
        return render(request, "problem.html", status_code=503, problem="sms_off")
    try:
        async with db(request) as session:
            asked = await auth.request_code(session, phone_text=phone, ip=ip, secret=secret(request), now=now(request),
                                            minutes=settings.web_code_minutes,
                                            per_ip_hour=settings.web_codes_per_ip_hour)
    except Invalid:
        return render(request, "signin.html", status_code=422, phone=phone[:40], problem="phone_invalid",
                      desktop=not is_phone_browser(request))
    except auth.SlowDown as exc:
        return render(request, "problem.html", status_code=429, problem="too_many",
                      minutes=_minutes_until(request, exc.until))
    if asked.code is not None:
        try:
            outcome = await request.app.state.sms.send(kind=SIGN_IN_CODE, phone=asked.phone, params={"code": asked.code},
                                     guardian_id=asked.guardian_id, cohort_id=asked.cohort_id)
        except NoticeDeferred as exc:
            return render(request, "problem.html", status_code=429, problem="too_many",
                          minutes=_minutes_until(request, exc.until))
        except NoticeRefused:
            log.error("sign-in code refused by the SMS set-up (see /healthz)")
            return render(request, "problem.html", status_code=503, problem="sms_off")
        if outcome.status != "sent":
            log.warning("sign-in code not sent: %s", outcome.error)
            problem = "too_many" if outcome.status == "rate_limited" else "sms_failed"
            return render(request, "problem.html", status_code=503, problem=problem, minutes=1)
    # Worded the same whether or not the number is on record (nobody learns who is enrolled).
    response = go(request, "/signin/code")
    set_cookie(request, response, CHALLENGE_COOKIE, asked.challenge, max_age=settings.web_code_minutes * 60)
    return response


@router.get("/signin/code", response_class=HTMLResponse)
async def code_form(request: Request) -> Response:
    if not request.cookies.get(CHALLENGE_COOKIE):
        return render(request, "problem.html", status_code=410, problem="code_expired")
    return render(request, "code.html")


@router.post("/signin/code", response_class=HTMLResponse)
async def code_check(request: Request, code: Annotated[str, Form()] = "") -> Response:
    settings = request.app.state.settings
    challenge = request.cookies.get(CHALLENGE_COOKIE)
    async with db(request) as session:
        checked = await auth.check_code(session, challenge=challenge, code=code,
                                        secret=secret(request), now=now(request), tries=settings.web_code_tries,
                                        session_days=settings.web_session_days)
        if checked.problem == "used" and await auth.who_may_sign_in(
                session, challenge=challenge, secret=secret(request), now=now(request)):
            return go(request, "/signin/who")  # the same code sent twice on a shared phone: still choosing
    if checked.choose:
        return go(request, "/signin/who")  # a shared phone: who is using it now?
    if checked.problem == "wrong":
        return render(request, "code.html", status_code=422, problem="wrong", tries_left=checked.tries_left)
    if checked.problem is not None:
        problem = {"missing": "code_expired", "expired": "code_expired", "used": "code_used",
                   "locked": "code_locked"}[checked.problem]
        response = render(request, "problem.html", status_code=410, problem=problem)
        response.delete_cookie(CHALLENGE_COOKIE, path=request.scope.get("root_path", "") + "/")
        return response
    response = go(request, "/")
    set_cookie(request, response, SESSION_COOKIE, checked.session_token or "",
               max_age=settings.web_session_days * 24 * 3600)
    response.delete_cookie(CHALLENGE_COOKIE, path=request.scope.get("root_path", "") + "/")
    return response


@router.get("/signin/who", response_class=HTMLResponse)
async def who_form(request: Request) -> Response:
    """Two people of a family share this number (grandma and grandpa): who is using the phone now?"""
    async with db(request) as session:
        people = await auth.who_may_sign_in(session, challenge=request.cookies.get(CHALLENGE_COOKIE),
                                            secret=secret(request), now=now(request))
        if people is None:
            if await signed_in(request, session) is not None:
                return go(request, "/")  # chosen already (the back button): carry on
            return render(request, "problem.html", status_code=410, problem="code_expired")
        choices = [(g.id, g.call_name, g.relationship) for g in people]
    return render(request, "who.html", choices=choices)


@router.post("/signin/who", response_class=HTMLResponse)
async def who_pick(request: Request, guardian_id: Annotated[int, Form()] = 0) -> Response:
    settings = request.app.state.settings
    async with db(request) as session:
        checked = await auth.pick_guardian(session, challenge=request.cookies.get(CHALLENGE_COOKIE),
                                           guardian_id=guardian_id, secret=secret(request), now=now(request),
                                           session_days=settings.web_session_days)
        if checked.problem is not None and await signed_in(request, session) is not None:
            return go(request, "/")  # a second tap after choosing: already signed in
        if checked.problem == "not_sharer":  # not one of the people on the list: ask again
            people = await auth.who_may_sign_in(session, challenge=request.cookies.get(CHALLENGE_COOKIE),
                                                secret=secret(request), now=now(request)) or []
            return render(request, "who.html", status_code=422, problem="pick",
                          choices=[(g.id, g.call_name, g.relationship) for g in people])
    if checked.problem is not None:
        return render(request, "problem.html", status_code=410, problem="code_expired")
    response = go(request, "/")
    set_cookie(request, response, SESSION_COOKIE, checked.session_token or "",
               max_age=settings.web_session_days * 24 * 3600)
    response.delete_cookie(CHALLENGE_COOKIE, path=request.scope.get("root_path", "") + "/")
    return response


@router.get("/link/{token}", response_class=HTMLResponse)
async def link(request: Request, token: str) -> Response:
    """A staff member's one-time link: shown once as a confirm page (link previews in chat apps
    fetch GETs; only pressing the button uses the link)."""
    return render(request, "link.html", token=token[:64])


@router.post("/link/{token}", response_class=HTMLResponse)
async def link_use(request: Request, token: str) -> Response:
    settings = request.app.state.settings
    async with db(request) as session:
        checked = await auth.redeem_link(session, token=token[:64], secret=secret(request), now=now(request),
                                         session_days=settings.web_session_days)
    if checked.problem is not None:
        problem = {"missing": "link_unknown", "expired": "link_expired", "used": "link_used"}[checked.problem]
        return render(request, "problem.html", status_code=410, problem=problem)
    response = go(request, "/")
    set_cookie(request, response, SESSION_COOKIE, checked.session_token or "",
               max_age=settings.web_session_days * 24 * 3600)
    return response


@router.post("/signout", response_class=HTMLResponse)
async def signout(request: Request) -> Response:
    async with db(request) as session:
        await auth.end_session(session, token=request.cookies.get(SESSION_COOKIE), secret=secret(request),
                               now=now(request))
    response = render(request, "signed_out.html")
    response.delete_cookie(SESSION_COOKIE, path=request.scope.get("root_path", "") + "/")
    return response
