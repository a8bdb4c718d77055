"""Check-ins on the phone: the home page with what is waiting, one question per screen (a plain
form: each choice is a big submit button, so it works without JavaScript), back, the safety page
after a red answer, and the pages for "someone in your family is answering", closed and done.

Every tap is committed before the next page is drawn (POST → 303 → GET), with the same core
conversation the bot uses (core.flows.checkin): claim, resume, red answer → alert."""
from __future__ import annotations

import re
from types import SimpleNamespace
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from markupsafe import Markup, escape
from sqlalchemy import select

from core.flows import checkin as conversation
from core.checkin.safety import safety_message
from core.checkin.service import ANSWERABLE, COMPLETED, get_questionnaire, is_safety_item
from core.delivery.outbox import mark_sent
from core.errors import Conflict, Forbidden, Invalid, NotFound
from core.models import CheckIn, Child, Guardian, Household
from web.mobile.common import db, go, locale_for, now, render, signed_in, signin_page

router = APIRouter()


class _Refused(Exception):
    """Carries a core refusal out of the transaction, which then rolls back."""

    def __init__(self, cause: Exception, guardian: Guardian) -> None:
        super().__init__(str(cause))
        # What the page needs of the guardian, read now: the rollback expires the row.
        self.cause, self.guardian = cause, SimpleNamespace(id=guardian.id, locale=guardian.locale)


NATIONAL_LINES = ("110", "120", "12356", "12355")


async def _mine(session, guardian: Guardian, checkin_id: int) -> CheckIn:  # type: ignore[no-untyped-def]
    """A check-in of the guardian's household (else 404: another family's looks like nothing)."""
    checkin = await session.get(CheckIn, checkin_id)
    if checkin is None or checkin.household_id != guardian.household_id or (
            checkin.subject_guardian_id not in (None, guardian.id)):
        raise NotFound("check-in not found")
    return checkin


async def _being_answered(session, guardian: Guardian, now_) -> int:  # type: ignore[no-untyped-def]
    """How many of the household's open check-ins another guardian is answering (no content)."""
    rows = await session.scalars(select(CheckIn.id).where(
        CheckIn.household_id == guardian.household_id, CheckIn.state.in_(ANSWERABLE), CheckIn.expires_at > now_,
        CheckIn.subject_guardian_id.is_(None), CheckIn.claimed_by_guardian_id.is_not(None),
        CheckIn.claimed_by_guardian_id != guardian.id))
    return len(rows.all())


@router.get("/", response_class=HTMLResponse)
async def home(request: Request) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return render(request, "entry.html")
        waiting = []
        for checkin in await conversation.open_for(session, guardian=guardian, now=now(request)):
            view = await conversation.current_question(session, checkin=checkin, guardian=guardian)
            if view is not None:
                nickname = await session.scalar(select(Child.nickname).where(Child.id == checkin.child_id)) \
                    if checkin.child_id else None
                waiting.append({"id": checkin.id, "title": view.title, "done": view.number - 1, "total": view.total,
                                "child": nickname})
        others = await _being_answered(session, guardian, now(request))
    return render(request, "home.html", guardian=guardian, waiting=waiting, others=others)


@router.get("/checkins/{checkin_id}", response_class=HTMLResponse)
async def question(request: Request, checkin_id: int) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        checkin = await _mine(session, guardian, checkin_id)
        if checkin.state == COMPLETED:
            return render(request, "checkin_done.html", guardian=guardian)
        if checkin.state not in ANSWERABLE or now(request) >= checkin.expires_at:
            return render(request, "checkin_closed.html", guardian=guardian, status_code=410)
        if checkin.claimed_by_guardian_id not in (None, guardian.id):
            return render(request, "checkin_claimed.html", guardian=guardian, status_code=409,
                          safety_q=await _safety_question(session, checkin, guardian),
                          saved=request.query_params.get("saved") == "1")
        view = await conversation.current_question(session, checkin=checkin, guardian=guardian)
    if view is None:
        return render(request, "checkin_done.html", guardian=guardian)
    return render(request, "question.html", guardian=guardian, q=view)


async def _safety_question(session, checkin: CheckIn, guardian: Guardian):  # type: ignore[no-untyped-def]
    """The safety question of a check-in another guardian is answering: anyone may still answer it
    (DESIGN: a safety item answered by anyone is always stored and acted on)."""
    q = await get_questionnaire(session, questionnaire_id=checkin.questionnaire_id,
                                version=checkin.questionnaire_version)
    for index, item in enumerate(q.items):
        if is_safety_item(q, item.id):
            return await conversation.view_at(session, checkin=checkin, index=index, locale=guardian.locale)
    return None


def _refused(request: Request, guardian, exc: Exception) -> Response:  # type: ignore[no-untyped-def]
    code = getattr(exc, "code", None)
    if code == "claimed_by_other":
        return render(request, "checkin_claimed.html", guardian=guardian, status_code=409)
    if code in ("expired", "closed"):
        return render(request, "checkin_closed.html", guardian=guardian, status_code=410)
    if isinstance(exc, Invalid):
        return render(request, "problem.html", guardian=guardian, status_code=422, problem="bad_answer")
    raise NotFound("check-in not found")


@router.post("/checkins/{checkin_id}/answer", response_class=HTMLResponse)
async def answer(request: Request, checkin_id: int, index: Annotated[int, Form()],
                 value: Annotated[int, Form()]) -> Response:
    try:
        async with db(request) as session:
            guardian = await signed_in(request, session)
            if guardian is None:
                return signin_page(request)
            await _mine(session, guardian, checkin_id)
            step_guardian = guardian.id
            try:
                step = await conversation.answer(session, checkin_id=checkin_id, index=index, value=value,
                                                 guardian=guardian, now=now(request))
            except (Conflict, Forbidden, NotFound, Invalid) as exc:  # refused before anything was written
                raise _Refused(exc, guardian) from exc
            if step.safety is not None:
                # The safety page comes next, on this screen: that is its delivery. The outbox row
                # (born 'sending' as a safety net) is marked sent, so it is not sent again elsewhere.
                mark_sent(step.safety[0], message_id=None, now=now(request))
    except _Refused as refused:
        return _refused(request, refused.guardian, refused.cause)
    # Committed: the answer (and any alert, queued for the director) is stored.
    if step.safety is not None:
        return go(request, f"/checkins/{checkin_id}/safety")
    if step.completed:
        return go(request, f"/checkins/{checkin_id}/done")
    if step.question is None and step.checkin.claimed_by_guardian_id != step_guardian:
        return go(request, f"/checkins/{checkin_id}?saved=1")  # a safety answer beside another's check-in
    return go(request, f"/checkins/{checkin_id}")


@router.post("/checkins/{checkin_id}/back", response_class=HTMLResponse)
async def back(request: Request, checkin_id: int) -> Response:
    try:
        async with db(request) as session:
            guardian = await signed_in(request, session)
            if guardian is None:
                return signin_page(request)
            await _mine(session, guardian, checkin_id)
            try:
                await conversation.back(session, checkin_id=checkin_id, guardian=guardian, now=now(request))
            except (Conflict, Forbidden, NotFound) as exc:
                raise _Refused(exc, guardian) from exc
    except _Refused as refused:
        return _refused(request, refused.guardian, refused.cause)
    return go(request, f"/checkins/{checkin_id}")


@router.get("/checkins/{checkin_id}/done", response_class=HTMLResponse)
async def done(request: Request, checkin_id: int) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        await _mine(session, guardian, checkin_id)
    return render(request, "checkin_done.html", guardian=guardian)


_NUMBER = re.compile(r"(?<![0-9])(1[0-9]{2,4}|0[0-9]{2,3}-?[0-9]{7,8}|1[3-9][0-9]{9})(?![0-9])")


def with_tel_links(text: str) -> Markup:
    """The safety text, escaped, with every phone number a tap-to-call link."""
    return Markup(_NUMBER.sub(lambda m: f'<a href="tel:{m.group(1).replace("-", "")}">{m.group(1)}</a>',
                              str(escape(text))))


async def safety_page(request: Request, guardian: Guardian, session, *, cohort_id: int,  # type: ignore[no-untyped-def]
                      next_href: str | None) -> Response:
    """The versioned safety text in the page's language, with big tap-to-call links first."""
    message = await safety_message(session, cohort_id=cohort_id, locale=locale_for(request, guardian))
    listed = "\n".join(f"• {n} {label}".rstrip() for n, label in message.lines)
    body = message.body.replace("{lines}", listed) if listed else message.body.replace("\n{lines}", "")
    paragraphs = [with_tel_links(p) for p in body.split("\n\n")]
    return render(request, "safety.html", guardian=guardian, paragraphs=paragraphs, lines=message.lines,
                  national=NATIONAL_LINES, director=message.director, director_phone=message.director_phone,
                  next_href=next_href)


@router.get("/checkins/{checkin_id}/safety", response_class=HTMLResponse)
async def safety(request: Request, checkin_id: int) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        checkin = await _mine(session, guardian, checkin_id)
        still_open = checkin.state in ANSWERABLE and checkin.claimed_by_guardian_id == guardian.id
        return await safety_page(request, guardian, session, cohort_id=checkin.cohort_id,
                                 next_href=f"/checkins/{checkin_id}" if still_open else None)


@router.get("/help", response_class=HTMLResponse)
async def help_now(request: Request) -> Response:
    """The same safety page, reached from anywhere (after red words written to the director)."""
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        cohort_id = await household_cohort(session, guardian)
        return await safety_page(request, guardian, session, cohort_id=cohort_id or 0, next_href=None)


async def household_cohort(session, guardian: Guardian) -> int | None:  # type: ignore[no-untyped-def]
    return await session.scalar(select(Household.cohort_id).where(Household.id == guardian.household_id))
