"""The staff console (/console/): sign-in and sign-out, Today (the landing page) and the actions
on alerts and inbox items — through the same core services as the phone, so acting here
updates the Telegram cards too (cards=True queues their edits in the outbox)."""
from __future__ import annotations

import logging
import secrets
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response

from core.alerts import cases, queries, service
from core.alerts.views import alert_card
from core.alerts.cases import CONTACT_METHODS, OUTCOMES, REFERRAL_TARGETS
from core.errors import Invalid, NotFound
from core.inbox import recordings
from core.inbox import service as inbox
from core.inbox.views import family_of
from core.staff import websessions
from web.console.common import back, page_locale, render, url
from web.console.deps import BROWSER_COOKIE, DB, LOGIN_COOKIE, Form, IdPath, Now, Reader, SESSION_COOKIE, form_of

log = logging.getLogger(__name__)
router = APIRouter()


# ---------------------------------------------------------------- sign-in


def _safe_next(value: str | None) -> str:
    """Only a path inside the console (never another site: //evil.example, https://…)."""
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return "/"
    return value


def _signed_in(request: Request, signed: websessions.SignedIn, next_path: str | None) -> Response:
    response = RedirectResponse(url(request, _safe_next(next_path)), status_code=303)
    # Secure whenever the page came over HTTPS (behind the proxy: uvicorn --proxy-headers); a
    # plain-HTTP cookie only on a local http:// set-up, where a Secure cookie would be dropped.
    response.set_cookie(SESSION_COOKIE, signed.token, max_age=websessions.SESSION_HOURS * 3600, httponly=True,
                        samesite="lax", secure=request.url.scheme == "https", path=request.scope.get("root_path") or "/")
    return response


def _cookie_path(request: Request) -> str:
    return request.scope.get("root_path") or "/"


def _signin_page(request: Request, template: str = "console/signin.html", *, status_code: int = 200,
                 **context: Any) -> Response:
    """A page with sign-in forms: each carries the login CSRF field derived from the browser's
    pre-session cookie (set here when missing), so another site cannot sign a browser in as
    someone else (login CSRF) — the cookie is SameSite and the field is not readable cross-site."""
    token = request.cookies.get(LOGIN_COOKIE) or websessions.new_login_token()
    context.setdefault("next", "/")
    context.setdefault("error", None)
    context.setdefault("sent", None)
    response = render(request, template, status_code=status_code, login_csrf=websessions.login_csrf_token(token),
                      **context)
    if request.cookies.get(LOGIN_COOKIE) != token:
        response.set_cookie(LOGIN_COOKIE, token, max_age=12 * 3600, httponly=True, samesite="lax",
                            secure=request.url.scheme == "https", path=_cookie_path(request))
    return response


def _client(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _throttled(request: Request, now: datetime, wait: int, **context: Any) -> Response:
    """429: when to try again, as a clock time in the programme's time zone."""
    zone = ZoneInfo(request.app.state.settings.default_timezone)
    again = (now + timedelta(seconds=wait)).astimezone(zone).strftime("%H:%M")
    response = _signin_page(request, status_code=429, error="throttled", retry_at=again, **context)
    response.headers["Retry-After"] = str(wait)
    return response


def _refused(request: Request, form: dict[str, Any], now: datetime, *, staff_ids: Sequence[int] = (),
             **context: Any) -> Response | None:
    """The checks before any sign-in attempt: the address (and the staff members concerned) not
    throttled, the login CSRF field matching the pre-session cookie. None when it may go on."""
    state, moment = request.app.state, now.timestamp()
    waits = [state.signin_by_address.retry_after(_client(request), moment)]
    waits += [state.signin_by_staff.retry_after(str(i), moment) for i in staff_ids]
    wait = max((w for w in waits if w is not None), default=None)
    if wait is not None:
        return _throttled(request, now, wait, **context)
    if not websessions.login_csrf_ok(request.cookies.get(LOGIN_COOKIE), form.get("csrf")):
        return _signin_page(request, status_code=403, error="login_csrf", **context)
    return None


def _failed(request: Request, now: datetime, *, staff_ids: Sequence[int] = ()) -> None:
    state, moment = request.app.state, now.timestamp()
    if state.signin_by_address.fail(_client(request), moment):
        log.warning("%d failed console sign-ins from one address; refusing it for a while",
                    state.signin_by_address.limit)
    for staff_id in staff_ids:
        if state.signin_by_staff.fail(str(staff_id), moment):
            log.warning("%d wrong console sign-in codes for staff %d; refusing them for a while",
                        state.signin_by_staff.limit, staff_id)


@router.get("/signin", response_class=HTMLResponse)
async def signin_page(request: Request) -> Response:
    return _signin_page(request, next=_safe_next(request.query_params.get("next")),
                        error=request.query_params.get("error"), sent=request.query_params.get("sent"))


@router.post("/signin")
async def signin(request: Request, session: DB, now: Now) -> Response:
    form = await form_of(request)
    nxt = _safe_next(form.get("next"))
    if (refused := _refused(request, form, now, next=nxt)) is not None:
        return refused
    signed = await websessions.sign_in_with_code(
        session, code=form.get("code", ""), user_agent=request.headers.get("user-agent"), now=now,
        admin_token=request.app.state.settings.admin_token)
    if signed is None:
        _failed(request, now)
        return _signin_page(request, status_code=401, next=nxt, error="code")
    return _signed_in(request, signed, form.get("next"))


@router.post("/signin/telegram")
async def signin_telegram(request: Request, session: DB, now: Now) -> Response:
    """Ask for a code in Telegram. The same answer whether the number is a staff member's or not."""
    form = await form_of(request)
    nxt = _safe_next(form.get("next"))
    if (refused := _refused(request, form, now, next=nxt)) is not None:
        return refused
    browser = request.cookies.get(BROWSER_COOKIE) or secrets.token_urlsafe(24)
    try:
        await websessions.request_signin_code(session, phone=form.get("phone", ""), browser_token=browser,
                                                now=now, link_base=request.app.state.settings.public_url)
    except Invalid:
        return _signin_page(request, status_code=422, next=nxt, error="phone")
    response = _signin_page(request, next=nxt, sent="1")
    response.set_cookie(BROWSER_COOKIE, browser, max_age=3600, httponly=True, samesite="lax",
                        secure=request.url.scheme == "https", path=_cookie_path(request))
    return response


@router.post("/signin/telegram/code")
async def signin_telegram_code(request: Request, session: DB, now: Now) -> Response:
    form = await form_of(request)
    nxt = _safe_next(form.get("next"))
    browser = request.cookies.get(BROWSER_COOKIE)
    staff_ids = await websessions.pending_staff_ids(session, browser_token=browser, now=now) if browser else []
    if (refused := _refused(request, form, now, staff_ids=staff_ids, next=nxt, sent="1")) is not None:
        return refused
    signed = None
    if browser:
        signed = await websessions.redeem_signin_code(session, browser_token=browser, code=form.get("code", ""),
                                                        user_agent=request.headers.get("user-agent"), now=now)
    if signed is None:
        _failed(request, now, staff_ids=staff_ids)
        return _signin_page(request, status_code=401, next=nxt, error="telegram_code", sent="1")
    return _signed_in(request, signed, form.get("next"))


@router.get("/signin/link/{link}", response_class=HTMLResponse)
async def signin_link_page(request: Request, link: str) -> Response:
    # A page with a button, not a sign-in on GET: link previews (Telegram fetches links in
    # messages) would otherwise use the one-time link up before the person opens it.
    return _signin_page(request, "console/signin_link.html", link=link)


@router.post("/signin/link/{link}")
async def signin_link(request: Request, link: str, session: DB, now: Now) -> Response:
    form = await form_of(request)
    if (refused := _refused(request, form, now)) is not None:
        return refused
    signed = await websessions.redeem_signin_link(session, link=link, user_agent=request.headers.get("user-agent"),
                                                    now=now)
    if signed is None:
        _failed(request, now)
        return _signin_page(request, status_code=401, error="link")
    return _signed_in(request, signed, "/")


@router.post("/signout")
async def signout(request: Request, reader: Reader, form: Form, session: DB) -> Response:
    await websessions.sign_out(session, row=reader.web_session, now=reader.now)
    response = RedirectResponse(url(request, "/signin"), status_code=303)
    response.delete_cookie(SESSION_COOKIE, path=request.scope.get("root_path") or "/")
    return response


# ---------------------------------------------------------------- Today


@router.get("/", response_class=HTMLResponse)
async def today(request: Request, reader: Reader, session: DB) -> Response:
    now = reader.now
    alerts = await queries.open_alerts(session, scope=reader.scope, now=now, limit=100)
    items = await inbox.list_items(session, scope=reader.scope, now=now, limit=50)
    families = {i.id: await family_of(session, household_id=i.household_id, guardian_id=i.guardian_id)
                for i in items}
    visits = (await queries.visits_due(session, scope=reader.scope, now=now))[:50]
    followups = await queries.followups_due(session, scope=reader.scope, now=now)
    return render(request, "console/today.html", reader=reader, alerts=alerts, items=items, families=families,
                  visits=visits, followups=followups, done=request.query_params.get("done"),
                  methods=CONTACT_METHODS, targets=REFERRAL_TARGETS, outcomes=OUTCOMES)


# ---------------------------------------------------------------- actions (the phone's buttons)


def _note(form: dict[str, str]) -> str | None:
    return (form.get("note") or "").strip() or None


@router.post("/alerts/{alert_id}/acknowledge")
async def acknowledge(request: Request, alert_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await cases.acknowledge(session, scope=reader.scope, alert_id=alert_id, now=reader.now, cards=True)
    return back(request, _safe_next(form.get("next")), done="acknowledged")


@router.post("/alerts/{alert_id}/contact")
async def alert_contact(request: Request, alert_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await cases.log_contact(session, scope=reader.scope, method=form.get("method", ""), note=_note(form),
                            now=reader.now, alert_id=alert_id, cards=True)
    return back(request, _safe_next(form.get("next")), done="contact")


@router.post("/alerts/{alert_id}/refer")
async def alert_refer(request: Request, alert_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await cases.refer(session, scope=reader.scope, to=form.get("to", ""), note=_note(form), now=reader.now,
                      alert_id=alert_id, cards=True)
    return back(request, _safe_next(form.get("next")), done="referral")


@router.post("/alerts/{alert_id}/resolve")
async def alert_resolve(request: Request, alert_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await cases.resolve_alert(session, scope=reader.scope, alert_id=alert_id, outcome=form.get("outcome", ""),
                              note=_note(form), now=reader.now, cards=True)
    return back(request, _safe_next(form.get("next")), done="resolved")


@router.get("/inbox/{item_id}", response_class=HTMLResponse)
async def inbox_item(request: Request, item_id: IdPath, reader: Reader, session: DB) -> Response:
    item = await inbox.read_item(session, scope=reader.scope, item_id=item_id, now=reader.now)
    family = await family_of(session, household_id=item.household_id, guardian_id=item.guardian_id)
    messages = await inbox.thread(session, item_id=item.id)
    return render(request, "console/inbox_item.html", reader=reader, item=item, family=family, messages=messages,
                  done=request.query_params.get("done"))


@router.get("/inbox/{item_id}/recordings/{message_id}")
async def inbox_recording(request: Request, item_id: IdPath, message_id: IdPath, reader: Reader,
                          session: DB) -> Response:
    """A guardian's voice message recorded on the web pages, for the <audio> on the item's page:
    only to staff of the family's cohort, never cached by the browser or a proxy."""
    name = await recordings.for_staff(session, scope=reader.scope, item_id=item_id, message_id=message_id,
                                      now=reader.now)
    path = recordings.path_of(request.app.state.settings.recordings_root, name)
    if not path.is_file():
        raise NotFound("recording not found")
    return FileResponse(path, media_type=recordings.media_type_of(name),
                        headers={"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"})


@router.post("/inbox/{item_id}/reply")
async def inbox_reply(request: Request, item_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    text = (form.get("text") or "").strip()
    if not text:
        raise Invalid("write a few words to reply", field="text", code="reply_empty")
    await inbox.reply(session, scope=reader.scope, item_id=item_id, text=text, now=reader.now, cards=True)
    return back(request, f"/inbox/{item_id}", done="replied")


@router.post("/inbox/{item_id}/call-noted")
async def inbox_call(request: Request, item_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await inbox.note_call(session, scope=reader.scope, item_id=item_id, now=reader.now, cards=True)
    return back(request, f"/inbox/{item_id}", done="call")


@router.post("/inbox/{item_id}/done")
async def inbox_done(request: Request, item_id: IdPath, reader: Reader, form: Form, session: DB) -> Response:
    await inbox.mark_done(session, scope=reader.scope, item_id=item_id, now=reader.now, cards=True)
    return back(request, _safe_next(form.get("next")), done="inbox_done")


@router.get("/alerts/{alert_id}", response_class=HTMLResponse)
async def alert_page(request: Request, alert_id: IdPath, reader: Reader, session: DB) -> Response:
    """What fired the alert, as the phone card shows it: the answers, the scores against their
    cut-offs, the guardian's words; and the same actions."""
    alert = await service.get_alert(session, scope=reader.scope, alert_id=alert_id, now=reader.now)
    card = await alert_card(session, alert=alert, locale=page_locale(request, reader), now=reader.now)
    return render(request, "console/alert.html", reader=reader, alert=alert, card=card,
                  done=request.query_params.get("done"), methods=CONTACT_METHODS, targets=REFERRAL_TARGETS,
                  outcomes=OUTCOMES)
