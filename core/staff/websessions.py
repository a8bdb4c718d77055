"""Staff sign-in to the web console (issue #15): a staff member exchanges a credential they hold —
their link code, their API token, or a one-time code sent to their phone through the outbox — for a browser
session. Only hashes of session tokens and codes are stored; the CSRF token of a session is
derived from its token (HMAC), so it needs no row. Audited: who signed in how, who revoked what."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.endpoints.service import first_address
from core.access import Scope
from core.delivery.outbox import LANE_URGENT, enqueue
from core.messages import MessageKind
from core.people import clean_phone
from core.errors import Invalid, NotFound
from core.models import Staff, StaffSignInCode, StaffWebSession
from core.security import hash_secret, same_secret
from core.staff import service as staff_service

SESSION_HOURS = 12  # a working day; then sign in again
IDLE_HOURS = 4  # a session unused this long ends (a shared office computer left signed in)
TOUCH_EVERY = timedelta(minutes=5)  # last_seen_at is written at most this often (reads stay reads)
SIGNIN_CODE_MINUTES = 15
SIGNIN_CODES_PER_WINDOW = 3  # codes sent to one staff member per window: no flooding their chat
SIGNIN_CODE_ATTEMPTS = 5  # wrong tries against one browser's pending codes before they are void
# How a session began when it came from a code or link sent through the outbox. Sessions opened
# before this name was chosen say "telegram", the only channel that carried codes then.
SENT_CODE = "sent_code"


def new_session_token() -> str:
    return "sws_" + secrets.token_urlsafe(32)


def csrf_token(session_token: str) -> str:
    """The CSRF token for forms of this session: HMAC of the session token, so a page from
    another site (which cannot read our cookie) cannot forge it, and no row is needed."""
    return hmac.new(session_token.encode(), b"shouwang-console-csrf", hashlib.sha256).hexdigest()[:40]


def csrf_ok(session_token: str, sent: str | None) -> bool:
    return bool(sent) and same_secret(csrf_token(session_token), sent or "")


@dataclass
class SignedIn:
    row: StaffWebSession
    staff: Staff
    token: str  # the cookie's value: shown to the browser once, never stored


def new_login_token() -> str:
    """The pre-session token of the sign-in form (login CSRF: a cookie plus a hidden field)."""
    return secrets.token_urlsafe(24)


def login_csrf_token(login_token: str) -> str:
    # Derived, not equal to the cookie, so the page never echoes the cookie's value.
    return hmac.new(login_token.encode(), b"shouwang-console-login", hashlib.sha256).hexdigest()[:40]


def login_csrf_ok(login_token: str | None, sent: str | None) -> bool:
    return bool(login_token) and bool(sent) and same_secret(login_csrf_token(login_token or ""), sent or "")


async def pending_staff_ids(session: AsyncSession, *, browser_token: str, now: datetime) -> list[int]:
    """Whose unused sent codes this browser is waiting on: wrong codes count against them."""
    return sorted(set((await session.scalars(select(StaffSignInCode.staff_id).where(
        StaffSignInCode.browser_hash == hash_secret(browser_token), StaffSignInCode.used_at.is_(None),
        StaffSignInCode.expires_at > now))).all()))


async def _open(session: AsyncSession, *, staff: Staff, method: str, user_agent: str | None,
                now: datetime) -> SignedIn:
    token = new_session_token()
    row = StaffWebSession(staff_id=staff.id, token_hash=hash_secret(token), method=method, created_at=now,
                          last_seen_at=now, expires_at=now + timedelta(hours=SESSION_HOURS),
                          user_agent=(user_agent or "")[:120] or None)
    session.add(row)
    await session.flush()
    audit.record(session, staff_id=staff.id, action="create", entity="web_session", entity_id=row.id, now=now,
                 method=method)
    return SignedIn(row=row, staff=staff, token=token)


async def sign_in_with_code(session: AsyncSession, *, code: str, user_agent: str | None, now: datetime,
                            admin_token: str | None = None) -> SignedIn | None:
    """A staff member's link code (still valid; it stays usable for linking a chat until it expires —
    both are that person's own credential) or their API token. None when neither matches an
    active staff member."""
    code = code.strip()
    if not code or len(code) > 512:
        return None
    staff = await staff_service.find_by_link_code(session, code=code)
    method = "link_code"
    if staff is not None and (staff.link_code_expires_at is None or staff.link_code_expires_at <= now):
        staff = None
    if staff is None:
        method = "api_token"
        staff = await staff_service.authenticate(session, token=code)
        if staff is None and admin_token and same_secret(code, admin_token):
            staff = await staff_service.ensure_bootstrap_admin(session, token=code, now=now)
    if staff is None or not staff.active:
        return None
    return await _open(session, staff=staff, method=method, user_agent=user_agent, now=now)


async def request_signin_code(session: AsyncSession, *, phone: str, browser_token: str, now: datetime,
                                link_base: str | None) -> bool:
    """Send a six-digit code (and, when the console's public address is configured, a one-time
    link) to the first reachable endpoint of the active staff member with this phone number, through the
    outbox on lane 0. Returns whether one was queued — the page says the same either way, so
    it cannot be used to find out who is staff."""
    try:
        number = clean_phone(phone)
    except Invalid:
        raise Invalid("please enter a mobile number, e.g. 13812345678", field="phone", code="phone_invalid") from None
    staff = await session.scalar(select(Staff).where(Staff.phone == number, Staff.active.is_(True)))
    # The code goes to the first endpoint that can still reach them (a chat app today; WeCom later).
    address = None if staff is None else await first_address(session, staff_id=staff.id, now=now)
    if staff is None or address is None:
        return False
    recent = await session.scalar(select(func.count()).select_from(StaffSignInCode).where(
        StaffSignInCode.staff_id == staff.id,
        StaffSignInCode.created_at > now - timedelta(minutes=SIGNIN_CODE_MINUTES)))
    if (recent or 0) >= SIGNIN_CODES_PER_WINDOW:
        return False
    code = f"{secrets.randbelow(1_000_000):06d}"
    link = secrets.token_urlsafe(32)
    row = StaffSignInCode(staff_id=staff.id, code_hash=hash_secret(code), link_hash=hash_secret(link),
                          browser_hash=hash_secret(browser_token), created_at=now,
                          expires_at=now + timedelta(minutes=SIGNIN_CODE_MINUTES), attempts=0)
    session.add(row)
    await session.flush()
    payload = {"code": code, "minutes": SIGNIN_CODE_MINUTES, "locale": staff.locale,
               "link": f"{link_base.rstrip('/')}/console/signin/link/{link}" if link_base else None}
    await enqueue(session, address=address, kind=MessageKind.CONSOLE_SIGNIN, ref=f"signin:{row.id}", cycle="1",
                  lane=LANE_URGENT, due_at=now, now=now, staff_id=staff.id, payload=payload)
    audit.record(session, staff_id=staff.id, action="create", entity="signin_code", entity_id=row.id, now=now)
    return True


async def redeem_signin_code(session: AsyncSession, *, browser_token: str, code: str, user_agent: str | None,
                               now: datetime) -> SignedIn | None:
    """The code typed into the browser that asked for it. Wrong tries count against that
    browser's pending codes; after SIGNIN_CODE_ATTEMPTS they are void."""
    pending = list((await session.scalars(select(StaffSignInCode).where(
        StaffSignInCode.browser_hash == hash_secret(browser_token), StaffSignInCode.used_at.is_(None),
        StaffSignInCode.expires_at > now, StaffSignInCode.attempts < SIGNIN_CODE_ATTEMPTS)
        .order_by(StaffSignInCode.id))).all())
    digest = hash_secret(code.strip())
    for row in pending:
        if same_secret(row.code_hash, digest):
            return await _use(session, row, user_agent=user_agent, now=now, method=SENT_CODE)
    for row in pending:
        row.attempts += 1
    return None


async def redeem_signin_link(session: AsyncSession, *, link: str, user_agent: str | None,
                               now: datetime) -> SignedIn | None:
    row = await session.scalar(select(StaffSignInCode).where(StaffSignInCode.link_hash == hash_secret(link)))
    if row is None or row.used_at is not None or row.expires_at <= now:
        return None
    return await _use(session, row, user_agent=user_agent, now=now, method=SENT_CODE)


async def _use(session: AsyncSession, row: StaffSignInCode, *, user_agent: str | None, now: datetime,
               method: str) -> SignedIn | None:
    row.used_at = now
    staff = await session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        return None
    return await _open(session, staff=staff, method=method, user_agent=user_agent, now=now)


async def current(session: AsyncSession, *, token: str | None, now: datetime) -> tuple[StaffWebSession, Staff] | None:
    """The live session behind a cookie, or None (unknown, expired, idle too long, revoked, or
    its staff member deactivated)."""
    if not token or len(token) > 200:
        return None
    row = await session.scalar(select(StaffWebSession).where(StaffWebSession.token_hash == hash_secret(token)))
    if row is None or row.revoked_at is not None or row.expires_at <= now \
            or now - row.last_seen_at > timedelta(hours=IDLE_HOURS):
        return None
    staff = await session.get(Staff, row.staff_id)
    if staff is None or not staff.active:
        return None
    if now - row.last_seen_at >= TOUCH_EVERY:
        row.last_seen_at = now
    return row, staff


async def sign_out(session: AsyncSession, *, row: StaffWebSession, now: datetime) -> None:
    row.revoked_at, row.revoked_by_staff_id = now, row.staff_id
    audit.record(session, staff_id=row.staff_id, action="delete", entity="web_session", entity_id=row.id, now=now)


async def list_sessions(session: AsyncSession, *, scope: Scope, now: datetime,
                        limit: int = 200) -> list[tuple[StaffWebSession, str]]:
    """Live sessions (not revoked, not expired), newest first, with the staff member's name. Admins only."""
    scope.require_admin()
    rows = await session.execute(
        select(StaffWebSession, Staff.display_name).join(Staff, Staff.id == StaffWebSession.staff_id)
        .where(StaffWebSession.revoked_at.is_(None), StaffWebSession.expires_at > now)
        .order_by(StaffWebSession.created_at.desc(), StaffWebSession.id.desc()).limit(limit))
    return [(row, name) for row, name in rows.all()]


async def revoke(session: AsyncSession, *, scope: Scope, session_id: int, now: datetime) -> StaffWebSession:
    """End a session now (admins only); the browser is signed out at its next request."""
    scope.require_admin()
    row = await session.get(StaffWebSession, session_id)
    if row is None:
        raise NotFound("session not found")
    if row.revoked_at is None:
        row.revoked_at, row.revoked_by_staff_id = now, scope.staff_id
        audit.record(session, staff_id=scope.staff_id, action="delete", entity="web_session", entity_id=row.id,
                     now=now, of_staff_id=row.staff_id)
    return row
