"""A household's (or one child's) timeline for staff: check-ins with their scores against the
cut-offs, alerts, calls and visits, referrals, notes, and lessons received — newest first. The
caller has checked the reader's scope (core.households.service.get_household audits the read)."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.models import Alert, CaseEvent, CheckIn, CheckInScore, Delivery, Guardian

TIMELINE_LIMIT = 300


@dataclass
class Entry:
    at: datetime
    kind: str  # checkin | alert | contact | referral | note | resolved | closed | … | lesson
    title: str = ""
    detail: dict[str, Any] = field(default_factory=dict)
    note: str | None = None
    link: str | None = None  # a console path: /cases/3


async def timeline(session: AsyncSession, *, household_id: int, child_id: int | None = None) -> list[Entry]:
    entries: list[Entry] = []
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
        entries.append(Entry(at=c.completed_at or c.expires_at, kind="checkin", title=c.questionnaire_id,
                             detail={"state": c.state, "scores": [
                                 {"scale": s.scale_id, "raw": s.raw, "cutoffs": list(s.cutoffs or [])}
                                 for s in scores.get(c.id, [])]}))
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
    for e in (await session.scalars(events.order_by(CaseEvent.at.desc()).limit(TIMELINE_LIMIT))).all():
        entries.append(Entry(at=e.at, kind=e.kind, detail=dict(e.detail or {}), note=e.note,
                             link=f"/cases/{e.case_id}" if e.case_id else None))
    guardians = select(Guardian.id).where(Guardian.household_id == household_id)
    for d in (await session.scalars(select(Delivery).where(
            Delivery.guardian_id.in_(guardians), Delivery.kind.in_(("lesson", "campaign")), Delivery.state == "sent")
            .order_by(Delivery.id.desc()).limit(TIMELINE_LIMIT))).all():
        entries.append(Entry(at=d.sent_at or d.finished_at or d.due_at, kind="lesson", title=d.lesson_id or d.ref))
    return sorted(entries, key=lambda e: e.at, reverse=True)
