"""A household's (or one child's) timeline for staff: check-ins with their scores against the
cut-offs, alerts, calls and visits, referrals, notes, lessons received, and the voice messages a
guardian recorded on the web pages (played in the console from the inbox) — newest first. The
caller has checked the reader's scope (core.households.service.get_household audits the read)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.checkin.service import questionnaire_file
from core.messages import MessageKind
from core.models import (
    Alert, CaseEvent, CheckIn, CheckInScore, Delivery, Guardian, InboxItem, InboxMessage, Lesson, Questionnaire,
)

TIMELINE_LIMIT = 300


@dataclass
class Entry:
    at: datetime
    kind: str  # checkin | alert | contact | referral | note | resolved | closed | … | lesson | voice
    title: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    link: str | None = None  # a console path: /cases/3


def _label(labels: dict[str, str], locale: str) -> str:
    return labels.get(locale) or labels.get("zh-Hans") or next(iter(labels.values()), "")


async def _questionnaire(session: AsyncSession, cache: dict[tuple[str, int], Any], key: tuple[str, int]) -> Any:
    if key not in cache:
        row = await session.get(Questionnaire, key)
        cache[key] = questionnaire_file(row) if row is not None else None
    return cache[key]


async def timeline(session: AsyncSession, *, household_id: int, child_id: int | None = None,
                   locale: str = "zh-Hans") -> list[Entry]:
    """Newest first. Titles, scale and cut-off names in `locale` (from the exact questionnaire
    version that was asked)."""
    entries: list[Entry] = []
    files: dict[tuple[str, int], Any] = {}
    checkins = select(CheckIn).where(CheckIn.household_id == household_id, CheckIn.state.in_(("completed", "expired")))
    if child_id is not None:
        checkins = checkins.where(CheckIn.child_id == child_id)
    rows = list((await session.scalars(checkins.order_by(CheckIn.created_at.desc()).limit(TIMELINE_LIMIT))).all())
    scores: dict[int, list[CheckInScore]] = {}
    if rows:
        for s in (await session.scalars(select(CheckInScore).where(
                CheckInScore.check_in_id.in_([c.id for c in rows])))).all():
            scores.setdefault(s.check_in_id, []).append(s)
    for c in rows:
        q = await _questionnaire(session, files, (c.questionnaire_id, c.questionnaire_version))
        loc = locale if q is not None and locale in q.texts else "zh-Hans"
        scales = {sc.id: sc for sc in q.scales} if q is not None else {}
        lines = []
        for score in scores.get(c.id, []):
            scale = scales.get(score.scale_id)
            cutoffs = {cut.id: _label(cut.labels, loc) for cut in scale.cutoffs} if scale else {}
            lines.append({"scale": _label(scale.labels, loc) if scale else score.scale_id, "raw": score.raw,
                          "cutoffs": [cutoffs.get(cut, cut) for cut in (score.cutoffs or [])]})
        title = q.texts[loc].title if q is not None and loc in q.texts else c.questionnaire_id
        entries.append(Entry(at=c.completed_at or c.expires_at, kind="checkin", title=title,
                             detail={"state": c.state, "scores": lines}))
    alerts = select(Alert).where(Alert.household_id == household_id)
    if child_id is not None:
        alerts = alerts.where(Alert.child_id == child_id)
    for a in (await session.scalars(alerts.order_by(Alert.created_at.desc()).limit(TIMELINE_LIMIT))).all():
        entries.append(Entry(at=a.created_at, kind="alert", title=a.reason,
                             detail={"severity": a.severity, "status": a.status},
                             link=f"/cases/{a.case_id}" if a.case_id else None))
    events = select(CaseEvent).where(CaseEvent.household_id == household_id,
                                     CaseEvent.kind.in_(("contact", "referral", "note", "closed", "reopened")))
    if child_id is not None:
        events = events.where(or_(CaseEvent.case_id.is_(None), CaseEvent.case_id.in_(
            select(Alert.case_id).where(Alert.child_id == child_id))))
    for ev in (await session.scalars(events.order_by(CaseEvent.at.desc()).limit(TIMELINE_LIMIT))).all():
        entries.append(Entry(at=ev.at, kind=ev.kind, detail=dict(ev.detail or {}), note=ev.note,
                             link=f"/cases/{ev.case_id}" if ev.case_id else None))
    guardians = select(Guardian.id).where(Guardian.household_id == household_id)
    for d in (await session.scalars(select(Delivery).where(
            Delivery.guardian_id.in_(guardians), Delivery.kind.in_((MessageKind.LESSON, MessageKind.CAMPAIGN)), Delivery.state == "sent")
            .order_by(Delivery.id.desc()).limit(TIMELINE_LIMIT))).all():
        entries.append(Entry(at=d.sent_at or d.finished_at or d.due_at, kind="lesson", title=d.lesson_id or d.ref,
                             detail={"lesson_id": d.lesson_id, "version": d.lesson_version}))
    voices = select(InboxMessage.id, InboxMessage.item_id, InboxMessage.at).join(
        InboxItem, InboxItem.id == InboxMessage.item_id).where(
        InboxItem.household_id == household_id, InboxMessage.direction == "in", InboxMessage.kind == "voice",
        InboxMessage.address.is_(None), InboxMessage.file_unique_id.is_not(None))
    if child_id is not None:
        voices = voices.where(InboxItem.child_id == child_id)
    for message_id, item_id, at in (await session.execute(
            voices.order_by(InboxMessage.id.desc()).limit(TIMELINE_LIMIT))).all():
        entries.append(Entry(at=at, kind="voice", detail={"item_id": item_id, "message_id": message_id},
                             link=f"/inbox/{item_id}"))
    titles = await _lesson_titles(session, {e.detail["lesson_id"] for e in entries
                                            if e.kind == "lesson" and e.detail.get("lesson_id")}, locale)
    for e in entries:
        if e.kind == "lesson" and e.detail.get("lesson_id") in titles:
            e.title = titles[e.detail["lesson_id"]]
    return sorted(entries, key=lambda e: e.at, reverse=True)


async def _lesson_titles(session: AsyncSession, lesson_ids: set[str], locale: str) -> dict[str, str]:
    """The newest version's title of each lesson, in `locale` where it has one."""
    titles: dict[str, str] = {}
    if not lesson_ids:
        return titles
    for lesson in (await session.scalars(select(Lesson).where(Lesson.id.in_(lesson_ids))
                                         .order_by(Lesson.version))).all():
        texts = lesson.texts or {}
        text = texts.get(locale) or texts.get("zh-Hans") or {}
        if isinstance(text, dict) and text.get("title"):
            titles[lesson.id] = text["title"]
    return titles
