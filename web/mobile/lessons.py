"""Lessons on the phone: the lessons this guardian received (newest first), a page per lesson in
the exact version they got, with its recording where there is one, 👍/👎 and "did you try it?"
(the same feedback rows as the bot's buttons), and the recordings themselves."""
from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, Response
from markupsafe import Markup
from sqlalchemy import select

from core.content.lessons import AUDIO_SUFFIXES, MEDIA_PATH_PATTERN
from core.content.markup import to_html
from core.delivery import lessons as lesson_service
from core.errors import Invalid, NotFound
from core.models import LessonFeedback
from web.mobile.common import db, go, locale_for, now, render, signed_in, signin_page

router = APIRouter()
MEDIA_TYPES = {".mp3": "audio/mpeg", ".m4a": "audio/mp4"}


def _texts(lesson, locale: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return lesson.texts.get(locale) or lesson.texts.get("zh-Hans") or {}


def paragraphs(text: str) -> list[Markup]:
    """Author text (escaped, **bold** only) as paragraphs."""
    return [Markup(to_html(p)) for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]


@router.get("/lessons", response_class=HTMLResponse)
async def history(request: Request) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        locale = locale_for(request, guardian)
        rows = await lesson_service.lesson_history(session, guardian=guardian, limit=30)
    items = [{"id": d.id, "title": _texts(lesson, locale).get("title", ""), "sent_at": d.sent_at} for d, lesson in rows]
    return render(request, "lessons.html", guardian=guardian, items=items)


@router.get("/lessons/{delivery_id}", response_class=HTMLResponse)
async def lesson_page(request: Request, delivery_id: int) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        lesson = await lesson_service.lesson_for_rereading(session, guardian=guardian, delivery_id=delivery_id)
        given = dict((await session.execute(select(LessonFeedback.question, LessonFeedback.answer).where(
            LessonFeedback.delivery_id == delivery_id))).all())
    locale = locale_for(request, guardian)
    texts = _texts(lesson, locale)
    audio = ((lesson.media or {}).get("audio") or {})
    recording = audio.get(locale) or audio.get("zh-Hans")
    return render(request, "lesson.html", guardian=guardian, delivery_id=delivery_id, title=texts.get("title", ""),
                  body=paragraphs(texts.get("body", "")), try_today=paragraphs(texts.get("try_today", "")),
                  recording=recording, given=given, saved=request.query_params.get("saved") == "1")


@router.post("/lessons/{delivery_id}/feedback", response_class=HTMLResponse)
async def feedback(request: Request, delivery_id: int, question: Annotated[str, Form()],
                   answer: Annotated[str, Form()]) -> Response:
    async with db(request) as session:
        guardian = await signed_in(request, session)
        if guardian is None:
            return signin_page(request)
        try:
            await lesson_service.record_feedback(session, guardian=guardian, delivery_id=delivery_id,
                                                 question=question[:16], answer=answer[:16], now=now(request))
        except Invalid:
            return render(request, "problem.html", guardian=guardian, status_code=422, problem="bad_answer")
    return go(request, f"/lessons/{delivery_id}?saved=1")


@router.get("/media/{path:path}")
async def media(request: Request, path: str) -> Response:
    """A recording under content/media/ (only audio, only a plain relative path)."""
    suffix = path[path.rfind("."):].lower() if "." in path else ""
    if not re.fullmatch(MEDIA_PATH_PATTERN, path) or suffix not in AUDIO_SUFFIXES:
        raise NotFound("no such recording")
    root = (request.app.state.settings.content_dir / "media").resolve()
    file = (root / path).resolve()
    if root not in file.parents or not file.is_file():
        raise NotFound("no such recording")
    return FileResponse(file, media_type=MEDIA_TYPES[suffix], headers={"Cache-Control": "public, max-age=86400"})
