"""Writing to the child director from the phone: typed words enter the same inbox as the bot's
messages (core.inbox.receive), scanned for risk first. Red words show the safety page at once (the
alert is queued for the director); orange words are read by the director today; a household with
several children is asked which child it is about. A plain form: it works without JavaScript."""
from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from core.checkin.risk import scanner_for
from core.checkin.safety import reserve_safety_message
from core.delivery.outbox import mark_sent
from core.staff.directors import primary_director_name
from core.errors import Conflict, NotFound
from core.inbox import service as inbox
from core.inbox.service import Incoming
from core.models import Child, InboxItem
from web.mobile.common import db, go, now, render, signed_in, signin_page

router = APIRouter()
TEXT_MAX = 2000


def _scanner(request: Request):  # type: ignore[no-untyped-def]
    return scanner_for(request.app.state.settings.content_dir / "risk" / "lexicon.yaml")


@router.get("/write", response_class=HTMLResponse)
async def write_form(request: Request) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
    return render(request, "write.html", guardian=guardian, text="")


@router.post("/write", response_class=HTMLResponse)
async def write(request: Request, text: Annotated[str, Form()] = "") -> Response:
    words = text.strip()
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        if not words or len(words) > TEXT_MAX:
            return render(request, "write.html", guardian=guardian, text=text[:TEXT_MAX], status_code=422,
                          problem="empty" if not words else "long")
        at = now(request)
        # From the web there is no Telegram message: the words travel on the director's card.
        received = await inbox.receive(session, guardian=guardian, scanner=_scanner(request), now=at,
                                       incoming=Incoming(kind="text", address=None, message_id=None,
                                                         text=words[:TEXT_MAX]))
        red = received.urgent and received.scan is not None and received.scan.scan.severity == "red"
        if red and received.scan is not None and received.scan.stored is not None:
            reserved = await reserve_safety_message(session, guardian=guardian, cohort_id=received.item.cohort_id,
                                                    ref=f"text:{received.scan.stored.id}", now=at)
            if reserved is not None:
                mark_sent(reserved[0], message_id=None, now=at)  # the next page shows it
        director = await primary_director_name(session, cohort_id=received.item.cohort_id)
        item_id, asking = received.item.id, [(c.id, c.nickname) for c in received.ask_child]
        urgent = received.urgent
    # Committed: the words, any alert and the forwards to the directors are stored.
    if red:
        return go(request, "/help")
    if asking:
        return go(request, f"/write/{item_id}/child")
    return render(request, "written.html", guardian=guardian, director=director, urgent=urgent)


@router.get("/write/{item_id}/child", response_class=HTMLResponse)
async def which_child(request: Request, item_id: int) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        item = await session.get(InboxItem, item_id)
        if item is None or item.household_id != guardian.household_id or item.guardian_id != guardian.id:
            raise NotFound("inbox item not found")
        children = list((await session.execute(select(Child.id, Child.nickname).where(
            Child.household_id == guardian.household_id).order_by(Child.id))).all())
        if item.state != inbox.ASKING:
            director = await primary_director_name(session, cohort_id=item.cohort_id)
            return render(request, "written.html", guardian=guardian, director=director, urgent=False)
    return render(request, "which_child.html", guardian=guardian, item_id=item_id, children=children)


@router.post("/write/{item_id}/child", response_class=HTMLResponse)
async def chose_child(request: Request, item_id: int, child_id: Annotated[int, Form()]) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        try:
            item = await inbox.choose_child(session, guardian=guardian, item_id=item_id, child_id=child_id,
                                            now=now(request))
        except Conflict:
            item = await session.get(InboxItem, item_id)  # answered already (a second tap): nothing changes
        if item is None:
            raise NotFound("inbox item not found")
        director = await primary_director_name(session, cohort_id=item.cohort_id)
        urgent = item.alert_id is not None
    return render(request, "written.html", guardian=guardian, director=director, urgent=urgent)
