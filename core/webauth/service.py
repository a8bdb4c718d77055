"""Signing a guardian in on the web, over the database.

A phone number gets a 6-digit code by SMS (the caller sends it through the SMS channel); the
browser holds a random challenge token, so a code only works in the browser that asked for it.
Codes expire (10 minutes), five wrong tries lock the code, and codes are limited per number
(1 a minute, 5 an hour, 10 a day) and per address. A number in no household is treated exactly
like one that is, except that no SMS goes out: the pages never tell anyone whether a number is on
record. A right code opens a 90-day session; staff can also hand a guardian a one-time link.
Only keyed hashes of numbers, codes and tokens are stored. Services never commit."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope
from core.people import clean_phone
from core.errors import NotFound
from core.endpoints.service import add_endpoint
from core.models import Endpoint, Guardian, Household, SignInCode, WebLink, WebSession
from core.models.enums import GuardianStatus
from core.webauth.keys import keyed_hash

CODE_LIMITS = ((timedelta(minutes=1), 1), (timedelta(hours=1), 5), (timedelta(days=1), 10))


def phone_hash(secret: bytes, phone: str) -> str:
    return keyed_hash(secret, "phone", phone)


def _token_hash(secret: bytes, kind: str, token: str) -> str:
    return keyed_hash(secret, kind, token)


class SlowDown(Exception):
    """Too many codes asked for (this number, or this address): try again at `until`."""

    def __init__(self, until: datetime) -> None:
        super().__init__("too many sign-in codes")
        self.until = until


@dataclass(frozen=True)
class CodeRequest:
    challenge: str  # for the browser's cookie
    phone: str  # E.164, as cleaned
    code: str | None  # to send by SMS; None when the number is in no household (nothing is sent)
    guardian_id: int | None
    cohort_id: int | None


async def guardian_by_phone(session: AsyncSession, *, phone: str) -> tuple[Guardian, int] | None:
    """The guardian (and cohort) with this number on record, not stopped. If a phone is shared
    (two guardians gave the same number: grandma and grandpa), the code is recorded against the
    one enrolled first, and after the right code the page asks who is using the phone now
    (phone_sharers, pick_guardian)."""
    row = (await session.execute(
        select(Guardian, Household.cohort_id).join(Household, Household.id == Guardian.household_id)
        .where(Guardian.phone == phone, Guardian.status != GuardianStatus.stopped)
        .order_by(Guardian.id).limit(1)
    )).first()
    return None if row is None else (row[0], row[1])


async def _free_at(session: AsyncSession, column, value: str, limits, now: datetime) -> datetime | None:  # type: ignore[no-untyped-def]
    latest = None
    for window, allowed in limits:
        times = (await session.scalars(
            select(SignInCode.created_at).where(column == value, SignInCode.created_at > now - window)
            .order_by(SignInCode.created_at.desc()).limit(allowed)
        )).all()
        if len(times) >= allowed:
            free = times[allowed - 1] + window
            latest = free if latest is None or free > latest else latest
    return latest


async def request_code(session: AsyncSession, *, phone_text: str, ip: str, secret: bytes, now: datetime,
                       minutes: int = 10, per_ip_hour: int = 20, new_number: bool = False) -> CodeRequest:
    """Invalid("phone_invalid") for something that is no phone number; SlowDown when limited.
    `new_number`: someone enrolling proves a number on no record yet, so a code goes out anyway
    (it can never open a session: check_code refuses codes without a guardian)."""
    phone = clean_phone(phone_text)
    p_hash, ip_hash = phone_hash(secret, phone), keyed_hash(secret, "ip", ip)
    free = [t for t in (await _free_at(session, SignInCode.phone_hash, p_hash, CODE_LIMITS, now),
                        await _free_at(session, SignInCode.ip_hash, ip_hash,
                                       ((timedelta(hours=1), per_ip_hour),), now)) if t]
    if free:
        raise SlowDown(max(free))
    found = await guardian_by_phone(session, phone=phone)
    challenge = secrets.token_urlsafe(24)
    code = f"{secrets.randbelow(1_000_000):06d}"
    session.add(SignInCode(challenge_hash=_token_hash(secret, "challenge", challenge), phone_hash=p_hash,
                           ip_hash=ip_hash, guardian_id=found[0].id if found else None,
                           code_hash=keyed_hash(secret, "code", challenge, code), tries=0, created_at=now,
                           expires_at=now + timedelta(minutes=minutes)))
    await session.flush()
    if found is None:
        return CodeRequest(challenge, phone, code if new_number else None, None, None)
    return CodeRequest(challenge, phone, code, found[0].id, found[1])


@dataclass(frozen=True)
class CodeCheck:
    """ok with a session token, or a problem: missing | expired | used | locked | wrong. A right
    code for a shared number opens no session yet: `choose` is set, and the browser (still holding
    the challenge) says who is using the phone (pick_guardian)."""

    problem: str | None
    session_token: str | None = None
    guardian_id: int | None = None
    tries_left: int = 0
    choose: bool = False


async def phone_sharers(session: AsyncSession, *, guardian_id: int) -> list[Guardian]:
    """Every guardian, not stopped, with the same number on record as this one (in the order they
    enrolled): more than one when a phone is shared."""
    phone = await session.scalar(select(Guardian.phone).where(Guardian.id == guardian_id))
    if phone is None:
        return []
    return list((await session.scalars(select(Guardian).where(
        Guardian.phone == phone, Guardian.status != GuardianStatus.stopped).order_by(Guardian.id))).all())


async def _verified_code(session: AsyncSession, *, challenge: str | None, secret: bytes,
                         now: datetime) -> SignInCode | None:
    """The code row this browser proved with the right code for a shared number, while it still
    may choose (until the code's own expiry; a choice closes it)."""
    if not challenge:
        return None
    row = await session.scalar(select(SignInCode).where(
        SignInCode.challenge_hash == _token_hash(secret, "challenge", challenge)).with_for_update())
    if row is None or row.used_at is None or row.guardian_id is None or row.locked_at is not None:
        return None
    return row if now < row.expires_at else None


async def who_may_sign_in(session: AsyncSession, *, challenge: str | None, secret: bytes,
                          now: datetime) -> list[Guardian] | None:
    """The people sharing the proved number, to choose from; None when there is nothing to choose
    (no proved code in this browser, the choice made already, or too late)."""
    row = await _verified_code(session, challenge=challenge, secret=secret, now=now)
    if row is None or row.guardian_id is None:
        return None
    return await phone_sharers(session, guardian_id=row.guardian_id)


async def pick_guardian(session: AsyncSession, *, challenge: str | None, guardian_id: int, secret: bytes,
                        now: datetime, session_days: int = 90) -> CodeCheck:
    """The person using the shared phone now, chosen after the right code: their session. Only
    someone with that very number on record can be chosen, once per code."""
    row = await _verified_code(session, challenge=challenge, secret=secret, now=now)
    if row is None or row.guardian_id is None:
        return CodeCheck("used")
    sharers = {g.id for g in await phone_sharers(session, guardian_id=row.guardian_id)}
    if guardian_id not in sharers:
        return CodeCheck("not_sharer")
    row.expires_at = now  # chosen: this code opens nothing more
    token = await open_session(session, guardian_id=guardian_id, via="code", secret=secret, now=now,
                               days=session_days)
    return CodeCheck(None, session_token=token, guardian_id=guardian_id)


async def check_code(session: AsyncSession, *, challenge: str | None, code: str, secret: bytes, now: datetime,
                     tries: int = 5, session_days: int = 90) -> CodeCheck:
    """Check a typed code. The caller commits whatever the answer (a wrong try counts)."""
    row, problem = await _redeem(session, challenge=challenge, code=code, secret=secret, now=now, tries=tries,
                                 fits=lambda found: found.guardian_id is not None)
    if problem is not None:
        return problem
    assert row is not None and row.guardian_id is not None
    if len(await phone_sharers(session, guardian_id=row.guardian_id)) > 1:
        await session.flush()
        return CodeCheck(None, guardian_id=row.guardian_id, choose=True)  # who is using the phone now?
    token = await open_session(session, guardian_id=row.guardian_id, via="code", secret=secret, now=now,
                               days=session_days)
    return CodeCheck(None, session_token=token, guardian_id=row.guardian_id)


async def check_new_number(session: AsyncSession, *, challenge: str | None, code: str, phone: str,
                           secret: bytes, now: datetime, tries: int = 5) -> CodeCheck:
    """An enrolling person's code for `phone` (a number on no record when asked): the same
    problems as check_code, and no session (the guardian does not exist yet)."""
    _row, problem = await _redeem(session, challenge=challenge, code=code, secret=secret, now=now, tries=tries,
                                  belongs=lambda found: found.phone_hash == phone_hash(secret, phone)
                                  and found.guardian_id is None)
    if problem is not None:
        return problem
    await session.flush()
    return CodeCheck(None)


async def _redeem(session: AsyncSession, *, challenge: str | None, code: str, secret: bytes, now: datetime,
                  tries: int, belongs: Callable[[SignInCode], bool] = lambda _row: True,
                  fits: Callable[[SignInCode], bool] = lambda _row: True,
                  ) -> tuple[SignInCode | None, CodeCheck | None]:
    """The one check of a typed code against the row its challenge names, for sign-in and for
    enrolment: missing (or not this flow's: `belongs`), locked, used, expired; a wrong code (or
    a right one this flow cannot use: `fits`) counts a try and locks the row at `tries`. A right
    code marks the row used. Returns the row and None, or the problem."""
    row = None
    if challenge:
        row = await session.scalar(select(SignInCode).where(
            SignInCode.challenge_hash == _token_hash(secret, "challenge", challenge)).with_for_update())
    if row is None or not belongs(row):
        return None, CodeCheck("missing")
    if row.locked_at is not None:
        return None, CodeCheck("locked")
    if row.used_at is not None:
        return None, CodeCheck("used")
    if now >= row.expires_at:
        return None, CodeCheck("expired")
    typed = "".join(ch for ch in code if ch.isdigit())
    if keyed_hash(secret, "code", challenge or "", typed) != row.code_hash or not fits(row):
        row.tries += 1
        if row.tries >= tries:
            row.locked_at = now
        await session.flush()
        return None, CodeCheck("locked") if row.locked_at else CodeCheck("wrong", tries_left=tries - row.tries)
    row.used_at = now
    return row, None


async def reach_new_guardian(session: AsyncSession, *, guardian_id: int, web_address: str, phone: str,
                             now: datetime) -> None:
    """A guardian enrolled on the web is reached by SMS first (the number they proved), then on
    the web pages' inbox (where they enrolled)."""
    await session.execute(update(Endpoint).where(Endpoint.guardian_id == guardian_id, Endpoint.address == web_address)
                          .values(rank=1))
    await add_endpoint(session, address=f"sms:{phone}", now=now, guardian_id=guardian_id, rank=0)


async def open_session(session: AsyncSession, *, guardian_id: int, via: str, secret: bytes, now: datetime,
                       days: int = 90) -> str:
    token = secrets.token_urlsafe(32)
    session.add(WebSession(guardian_id=guardian_id, token_hash=_token_hash(secret, "session", token), via=via,
                           created_at=now, expires_at=now + timedelta(days=days), last_seen_at=now))
    await session.flush()
    return token


async def guardian_for(session: AsyncSession, *, token: str | None, secret: bytes, now: datetime) -> Guardian | None:
    """The guardian signed in with this cookie, or None (no cookie, ended, expired, stopped)."""
    if not token:
        return None
    row = (await session.execute(
        select(WebSession, Guardian).join(Guardian, Guardian.id == WebSession.guardian_id)
        .where(WebSession.token_hash == _token_hash(secret, "session", token), WebSession.ended_at.is_(None),
               WebSession.expires_at > now)
    )).first()
    if row is None or row[1].status == GuardianStatus.stopped:
        return None
    web_session, guardian = row
    if now - web_session.last_seen_at > timedelta(hours=1):
        web_session.last_seen_at = now  # coarse, so reading pages does not write on every request
    return guardian


async def end_session(session: AsyncSession, *, token: str | None, secret: bytes, now: datetime) -> None:
    if token:
        await session.execute(update(WebSession).where(
            WebSession.token_hash == _token_hash(secret, "session", token), WebSession.ended_at.is_(None)
        ).values(ended_at=now))


async def create_link(session: AsyncSession, *, scope: Scope, guardian_id: int, secret: bytes, now: datetime,
                      hours: int = 72) -> tuple[str, datetime, int]:
    """A one-time sign-in link for a guardian of the staff member's cohorts (else NotFound):
    (token, expires_at, cohort id). Supervisors, who only read, may not make one."""
    row = (await session.execute(
        select(Guardian.id, Household.cohort_id).join(Household, Household.id == Guardian.household_id)
        .where(Guardian.id == guardian_id)
    )).first()
    if row is None or not scope.sees(row[1]):
        raise NotFound("guardian not found")
    scope.require_change(row[1])
    token = secrets.token_urlsafe(24)
    expires = now + timedelta(hours=hours)
    session.add(WebLink(guardian_id=guardian_id, token_hash=_token_hash(secret, "link", token),
                        created_by_staff_id=scope.staff_id, created_at=now, expires_at=expires))
    await session.flush()
    return token, expires, row[1]


async def redeem_link(session: AsyncSession, *, token: str, secret: bytes, now: datetime,
                      session_days: int = 90) -> CodeCheck:
    """A link opens a session once: problems are missing | expired | used."""
    link = await session.scalar(select(WebLink).where(
        WebLink.token_hash == _token_hash(secret, "link", token)).with_for_update())
    if link is None:
        return CodeCheck("missing")
    if link.used_at is not None:
        return CodeCheck("used")
    if now >= link.expires_at:
        return CodeCheck("expired")
    guardian = await session.get(Guardian, link.guardian_id)
    if guardian is None or guardian.status == GuardianStatus.stopped:
        return CodeCheck("missing")
    link.used_at = now
    token_ = await open_session(session, guardian_id=link.guardian_id, via="link", secret=secret, now=now,
                                days=session_days)
    return CodeCheck(None, session_token=token_, guardian_id=link.guardian_id)
