"""Writing to the child director from the phone: typed words enter the same inbox as the bot's
messages (core.inbox.receive), scanned for risk first. Red words show the safety page at once (the
alert is queued for the director); orange words are read by the director today; a household with
several children is asked which child it is about. A plain form: it works without JavaScript.

A voice message goes through a plain form too: without JavaScript a file field that opens the
phone's own recorder (`capture`); with it, web/static/record.js records in the page (MediaRecorder)
and sends the recording through the same form. The file is checked by its first bytes, kept
under the recordings directory (core.inbox.recordings) and enters the same inbox."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets as token_source
from typing import Annotated

from fastapi import APIRouter, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, Response
from sqlalchemy import select

from core.checkin.risk import scanner_for
from core.checkin.safety import reserve_safety_message
from core.delivery.outbox import mark_sent
from core.staff.directors import primary_director_name
from core.errors import Conflict, NotFound
from core.inbox import recordings
from core.inbox import service as inbox
from core.inbox.service import Incoming
from core.models import Child, Guardian, InboxItem, InboxMessage
from web.mobile.common import db, go, now, render, secret, signed_in, signin_page

log = logging.getLogger(__name__)
router = APIRouter()
TEXT_MAX = 2000
VOICE_SECONDS = 180  # the page's recorder stops by itself after 3 minutes (well under the size limit)


def _scanner(request: Request):  # type: ignore[no-untyped-def]
    return scanner_for(request.app.state.settings.content_dir / "risk" / "lexicon.yaml")


@router.get("/write", response_class=HTMLResponse)
async def write_form(request: Request) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
    return _write_page(request, guardian)


def _write_page(request: Request, guardian: Guardian, *, status_code: int = 200, text: str = "",
                problem: str | None = None, voice_problem: str | None = None) -> Response:
    settings = request.app.state.settings
    # A fresh form id each time the page is shown: the same form sent twice stores one recording.
    return render(request, "write.html", guardian=guardian, text=text, problem=problem, status_code=status_code,
                  voice_problem=voice_problem, form_id=token_source.token_hex(12), voice_seconds=VOICE_SECONDS,
                  voice_megabytes=max(1, settings.web_voice_max_bytes // (1024 * 1024)))


@router.post("/write", response_class=HTMLResponse)
async def write(request: Request, text: Annotated[str, Form()] = "") -> Response:
    words = text.strip()
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        if not words or len(words) > TEXT_MAX:
            return _write_page(request, guardian, text=text[:TEXT_MAX], status_code=422,
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


@router.post("/write/voice", response_class=HTMLResponse)
async def write_voice(request: Request, voice: Annotated[UploadFile | None, File()] = None,
                      form_id: Annotated[str, Form()] = "") -> Response:
    settings = request.app.state.settings
    limit = settings.web_voice_max_bytes
    data = await voice.read(limit + 1) if voice is not None else b""
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        guardian_id = guardian.id
    if not data:
        return _write_page(request, guardian, status_code=422, voice_problem="empty")
    if len(data) > limit:
        return _write_page(request, guardian, status_code=413, voice_problem="long")
    media_type = recordings.sniff(data[:16])
    if media_type is None:
        return _write_page(request, guardian, status_code=415, voice_problem="not_audio")
    repeat_key = hmac.new(secret(request), f"voice:{guardian_id}:{form_id[:48]}".encode(), hashlib.sha256).digest() \
        if form_id else None
    name = recordings.new_name(media_type, repeat_key=repeat_key)
    root = settings.recordings_root
    written = recordings.store(root, name, data)
    try:
        async with db(request) as session:
            guardian = await signed_in(request, session)
            if guardian is None:  # signed out meanwhile
                raise PermissionError
            earlier = await session.scalar(select(InboxMessage).where(
                InboxMessage.guardian_id == guardian.id, InboxMessage.file_unique_id == name))
            if earlier is not None:  # the same form sent twice: it is in the inbox already
                item = await session.get(InboxItem, earlier.item_id)
                assert item is not None
                director = await primary_director_name(session, cohort_id=item.cohort_id)
                return render(request, "written.html", guardian=guardian, director=director, urgent=False)
            received = await inbox.receive(session, guardian=guardian, scanner=_scanner(request), now=now(request),
                                           incoming=Incoming(kind="voice", address=None, message_id=None,
                                                             file_unique_id=name, media_type=media_type))
            director = await primary_director_name(session, cohort_id=received.item.cohort_id)
            item_id, asking = received.item.id, bool(received.ask_child)
    except BaseException as exc:
        if written:  # nothing in the inbox points at it
            recordings.delete(root, [name])
        if isinstance(exc, PermissionError):
            return signin_page(request)
        raise
    log.info("web voice message: %d bytes, %s", len(data), media_type)
    if asking:
        return go(request, f"/write/{item_id}/child")
    return render(request, "written.html", guardian=guardian, director=director, urgent=False)


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
