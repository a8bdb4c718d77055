"""Enrolling on the web: an invitation link (or its code typed at /m/join) → consent → who you
are → the phone number, proved with the same SMS code as sign-in → children → confirm. The pages
drive the same channel-neutral flow as the bot (core.flows.enrolment) on a draft at a `web:<id>`
address; the id lives in a signed, http-only cookie until the guardian exists. One question per
page, plain forms: every answer is a POST that redirects to the current question."""
from __future__ import annotations

import hmac
import logging
import secrets
from typing import Annotated, Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.ext.asyncio import AsyncSession

from core.content.texts import current_consent
from core.enrolment import service as enrolment
from core.errors import Invalid
from core.flows import enrolment as flow
from core.locales import localized
from core.models import Draft
from core.models.enums import DraftFlow
from core.sms.notices import SIGN_IN_CODE, NoticeRefused
from core.sms.service import NoticeDeferred
from core.webauth import service as auth
from core.webauth.keys import keyed_hash
from web.mobile.common import (CHALLENGE_COOKIE, SESSION_COOKIE, db, go, locale_for, now, render, secret,
                               set_cookie, signed_in)

log = logging.getLogger(__name__)
router = APIRouter()

DRAFT_COOKIE = "sw_join"  # web:<id> of the draft being filled, signed
PHONE_COOKIE = "sw_join_phone"  # the number waiting for its code (signed), for the code's 10 minutes
DRAFT_DAYS = 14


def _sign(request: Request, value: str) -> str:
    return f"{value}.{keyed_hash(secret(request), 'join-cookie', value)[:32]}"


def _unsign(request: Request, cookie: str | None) -> str | None:
    if not cookie or "." not in cookie:
        return None
    value, _dot, sig = cookie.rpartition(".")
    return value if hmac.compare_digest(_sign(request, value), f"{value}.{sig}") else None


def _address(request: Request) -> str | None:
    token = _unsign(request, request.cookies.get(DRAFT_COOKIE))
    return None if token is None else f"web:{token}"


async def _draft(request: Request, session: AsyncSession) -> Draft | None:
    address = _address(request)
    return None if address is None else await enrolment.get_draft(session, address=address)


def _clear(request: Request, response: Response, *names: str) -> Response:
    for name in names:
        response.delete_cookie(name, path=request.scope.get("root_path", "") + "/")
    return response


@router.get("/join", response_class=HTMLResponse)
async def join_form(request: Request) -> Response:
    return render(request, "join.html", code="")


@router.get("/join/step", response_class=HTMLResponse)
async def step_page(request: Request) -> Response:
    async with db(request) as session:
        draft = await _draft(request, session)
        if draft is None:
            if await signed_in(request, session) is not None:
                return go(request, "/")
            return render(request, "problem.html", status_code=410, problem="join_lost")
        return await _step(request, session, draft)


@router.post("/join", response_class=HTMLResponse)
async def join_start(request: Request, code: Annotated[str, Form()] = "") -> Response:
    settings = request.app.state.settings
    ip = request.client.host if request.client else "-"
    token = (_address(request) or "").removeprefix("web:") or secrets.token_urlsafe(18)
    address = f"web:{token}"
    async with db(request) as session:
        if await signed_in(request, session) is not None:
            return render(request, "problem.html", status_code=409, problem="join_enrolled")
        # Wrong codes are counted per network address, like the bot counts them per chat.
        result = await enrolment.resolve_code(session, address=f"ip:{keyed_hash(secret(request), 'ip', ip)[:24]}",
                                              code=code, now=now(request), max_attempts=settings.code_attempts_max,
                                              window_minutes=settings.code_attempts_window_minutes)
        if result.problem is not None or result.kind == "staff":
            problem = result.problem or "unknown"
            return render(request, "join.html", status_code=422 if problem == "unknown" else 410, code=code[:64],
                          problem=problem, minutes=result.retry_after_minutes)
        locale = locale_for(request, None)
        if result.kind == "invitation":
            assert result.invitation is not None
            await enrolment.begin_flow(session, address=address, flow=DraftFlow.enrol, now=now(request),
                                       invitation_id=result.invitation.id, locale=locale)
        else:
            assert result.household_invite is not None
            await enrolment.begin_flow(session, address=address, flow=DraftFlow.join, now=now(request),
                                       household_invite_id=result.household_invite.id, locale=locale)
    response = go(request, "/join/step")
    set_cookie(request, response, DRAFT_COOKIE, _sign(request, token), max_age=DRAFT_DAYS * 24 * 3600)
    return response


async def _step(request: Request, session: AsyncSession, draft: Draft, *, hint: str | None = None,
                limit: int | None = None, status_code: int = 200, typed: str = "") -> Response:
    data = draft.data or {}
    context: dict[str, Any] = {}
    if draft.step == enrolment.CONSENT:
        doc = await current_consent(session, web=True)  # names the web pages, not the bot's commands
        if doc is None:
            return render(request, "problem.html", status_code=503, problem="sms_off")
        context["consent"] = localized(doc.texts, draft.locale, default="")
        context["version"] = doc.version
    if draft.step == enrolment.CONFIRM:
        context["household_children"] = [c.nickname for c in
                                         await enrolment.draft_household_children(session, draft=draft)]
    if draft.step == enrolment.CHILD_BIRTH_YEAR:
        context["years"] = list(range(now(request).year, now(request).year - 18, -1))
    return render(request, "join_step.html", status_code=status_code, draft=draft, step=draft.step, data=data,
                  child=data.get("child") or {}, hint=hint, limit=limit, typed=typed[:200], **context)


@router.post("/join/step", response_class=HTMLResponse)
async def step_answer(request: Request, step: Annotated[str, Form()] = "", value: Annotated[str, Form()] = "",
                      text: Annotated[str | None, Form()] = None, version: Annotated[int, Form()] = 0) -> Response:
    async with db(request) as session:
        draft = await _draft(request, session)
        if draft is None:
            if await signed_in(request, session) is not None:
                return go(request, "/")  # a second press after the last "yes": it is done
            return render(request, "problem.html", status_code=410, problem="join_lost")
        if step != draft.step:
            return await _step(request, session, draft, hint="stale_step", status_code=409)
        when = now(request)
        if step == enrolment.CONSENT:
            result = await flow.consent(session, draft=draft, agree=value == "yes", version=version, now=when)
        elif step in flow.TEXT_STEPS and value == "":
            result = flow.answer_text(draft, text=(text or "").strip() or None, now=when)
        else:
            result = await flow.choose(session, draft=draft, guardian=None, value=value, now=when)
        if result.outcome == "step":
            if result.hint is not None:
                return await _step(request, session, draft, hint=result.hint, limit=result.limit, status_code=422,
                                   typed=text or "")
            return go(request, "/join/step")
        if result.outcome in ("enrolled", "joined"):
            guardian = await enrolment.find_guardian(session, address=draft.address)
            assert guardian is not None and guardian.phone is not None
            await auth.reach_new_guardian(session, guardian_id=guardian.id, web_address=draft.address,
                                          phone=guardian.phone, now=when)
            settings = request.app.state.settings
            token = await auth.open_session(session, guardian_id=guardian.id, via="enrol", secret=secret(request),
                                            now=when, days=settings.web_session_days)
            response = render(request, "join_done.html", guardian=guardian, outcome=result.outcome,
                              director=result.director)
            set_cookie(request, response, SESSION_COOKIE, token, max_age=settings.web_session_days * 24 * 3600)
            return _clear(request, response, DRAFT_COOKIE, PHONE_COOKIE)
    # declined, invitation_gone, already_enrolled: the draft is gone
    response = render(request, "problem.html", status_code=200 if result.outcome == "declined" else 410,
                      problem=f"join_{result.outcome}")
    return _clear(request, response, DRAFT_COOKIE, PHONE_COOKIE)


@router.post("/join/phone", response_class=HTMLResponse)
async def phone_send(request: Request, phone: Annotated[str, Form()] = "") -> Response:
    """The number, proved by a code. A number already on a guardian's record signs in instead
    (one person is never enrolled twice)."""
    settings = request.app.state.settings
    ip = request.client.host if request.client else "-"
    if request.app.state.sms is None:
        return render(request, "problem.html", status_code=503, problem="sms_off")
    async with db(request) as session:
        draft = await _draft(request, session)
        if draft is None:
            return render(request, "problem.html", status_code=410, problem="join_lost")
        if draft.step != enrolment.PHONE:
            return await _step(request, session, draft, hint="stale_step", status_code=409)
        try:
            asked = await auth.request_code(session, phone_text=phone, ip=ip, secret=secret(request),
                                            now=now(request), minutes=settings.web_code_minutes,
                                            per_ip_hour=settings.web_codes_per_ip_hour, new_number=True)
        except Invalid as exc:
            return await _step(request, session, draft, hint=exc.code, status_code=422, typed=phone)
        except auth.SlowDown as exc:
            return render(request, "problem.html", status_code=429, problem="too_many",
                          minutes=max(1, int((exc.until - now(request)).total_seconds() + 59) // 60))
    assert asked.code is not None
    try:
        outcome = await request.app.state.sms.send(kind=SIGN_IN_CODE, phone=asked.phone, params={"code": asked.code},
                                                   guardian_id=asked.guardian_id, cohort_id=asked.cohort_id)
    except NoticeDeferred:
        return render(request, "problem.html", status_code=429, problem="too_many", minutes=1)
    except NoticeRefused:
        log.error("enrolment code refused by the SMS set-up (see /healthz)")
        return render(request, "problem.html", status_code=503, problem="sms_off")
    if outcome.status != "sent":
        log.warning("enrolment code not sent: %s", outcome.error)
        return render(request, "problem.html", status_code=503,
                      problem="too_many" if outcome.status == "rate_limited" else "sms_failed", minutes=1)
    known = asked.guardian_id is not None
    response = go(request, "/signin/code" if known else "/join/code")
    set_cookie(request, response, CHALLENGE_COOKIE, asked.challenge, max_age=settings.web_code_minutes * 60)
    if not known:
        set_cookie(request, response, PHONE_COOKIE, _sign(request, asked.phone), max_age=settings.web_code_minutes * 60)
    return response


@router.get("/join/code", response_class=HTMLResponse)
async def code_form(request: Request) -> Response:
    if not request.cookies.get(CHALLENGE_COOKIE) or _unsign(request, request.cookies.get(PHONE_COOKIE)) is None:
        return render(request, "problem.html", status_code=410, problem="code_expired")
    return render(request, "join_code.html")


@router.post("/join/code", response_class=HTMLResponse)
async def code_check(request: Request, code: Annotated[str, Form()] = "") -> Response:
    settings = request.app.state.settings
    phone = _unsign(request, request.cookies.get(PHONE_COOKIE))
    async with db(request) as session:
        draft = await _draft(request, session)
        if draft is None:
            return render(request, "problem.html", status_code=410, problem="join_lost")
        if phone is None:
            return render(request, "problem.html", status_code=410, problem="code_expired")
        checked = await auth.check_new_number(session, challenge=request.cookies.get(CHALLENGE_COOKIE), code=code,
                                              phone=phone, secret=secret(request), now=now(request),
                                              tries=settings.web_code_tries)
        if checked.problem is None:
            if draft.step != enrolment.PHONE:
                return go(request, "/join/step")  # a second press: the number is in already
            flow.answer_text(draft, text=phone, now=now(request))
    if checked.problem == "wrong":
        return render(request, "join_code.html", status_code=422, problem="wrong", tries_left=checked.tries_left)
    if checked.problem is not None:
        problem = {"missing": "code_expired", "expired": "code_expired", "used": "code_used",
                   "locked": "code_locked"}[checked.problem]
        return render(request, "problem.html", status_code=410, problem=problem, again="/join/step")
    return _clear(request, go(request, "/join/step"), CHALLENGE_COOKIE, PHONE_COOKIE)


@router.get("/join/{code}", response_class=HTMLResponse)
async def join_link(request: Request, code: str) -> Response:
    """The link a staff member hands out: a start button (link previews only GET; nothing is
    created until the person presses it)."""
    return render(request, "join.html", code=code[:64])
