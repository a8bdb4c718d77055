"""What the outbox sends staff, fixed at send time in the reader's language: an alert's card
(new or escalated) with where it stands now, the directors' reminder, a follow-up's result, a
family that left. A reminder or an escalation about an alert someone has acknowledged in the
meantime is dropped: nobody is chased for what is already being handled."""
from __future__ import annotations

from datetime import datetime
from collections.abc import Sequence
from typing import Any, Protocol
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts.notify import STAFF_KINDS
from core.alerts.raising import ALERT_OPEN, ALERT_RESOLVED
from core.alerts.views import alert_card
from core.messages import MessageKind
from core.models import Alert, Case, CheckIn, Child, Cohort, Delivery, FreeText, Staff

SKIPPED = "skipped"


class _Claimed(Protocol):
    delivery: Delivery


async def resolve_staff_messages(session: AsyncSession, *, items: Sequence[_Claimed],
                                 now: datetime) -> dict[int, dict[str, Any]]:
    todo = [i for i in items if i.delivery.kind in STAFF_KINDS and i.delivery.state == "sending"]
    if not todo:
        return {}
    staff_ids = {i.delivery.staff_id for i in todo if i.delivery.staff_id}
    staff = {s.id: s for s in (await session.scalars(select(Staff).where(Staff.id.in_(staff_ids)))).all()}
    out: dict[int, dict[str, Any]] = {}
    for item in todo:
        d = item.delivery
        person = staff.get(d.staff_id or 0)
        problem = None
        if person is None or not person.active:
            problem = "staff_gone"
        content: dict[str, Any] = {}
        if problem is None and d.kind == MessageKind.ALERT_UPDATE:
            alert = await session.get(Alert, d.payload.get("alert_id"))
            if alert is None:
                problem = "alert_gone"
            else:
                assert person is not None
                card = await alert_card(session, alert=alert, locale=person.locale, now=now)
                content = {"card": card.as_payload(), "level": int(d.payload.get("level", 0)),
                           "message_id": d.payload.get("message_id")}
        elif problem is None and d.kind in (MessageKind.ALERT, MessageKind.ALERT_REMINDER):
            alert = await session.get(Alert, d.payload.get("alert_id"))
            level = int(d.payload.get("level", 0))
            if alert is None:
                problem = "alert_gone"
            elif (d.kind == MessageKind.ALERT_REMINDER or level > 0) and alert.status != ALERT_OPEN:
                problem = "alert_handled"
            elif alert.status == ALERT_RESOLVED:
                problem = "alert_handled"
            else:
                assert person is not None
                card = await alert_card(session, alert=alert, locale=person.locale, now=now)
                content = {"card": card.as_payload(), "level": level}
                if d.kind == MessageKind.ALERT_REMINDER and alert.escalate_at is not None:
                    tz = await _tz(session, alert.cohort_id)
                    content["escalate_local"] = alert.escalate_at.astimezone(tz).strftime("%H:%M")
        elif problem is None and d.kind == MessageKind.ALERT_NEWS:
            alert = await session.get(Alert, d.payload.get("alert_id"))
            if alert is None or alert.status == ALERT_RESOLVED:
                problem = "alert_handled"
            else:
                assert person is not None
                card = await alert_card(session, alert=alert, locale=person.locale, now=now)
                kept = await session.get(FreeText, d.payload["free_text_id"]) if d.payload.get("free_text_id") else None
                content = {"card": card.as_payload(), "occurrences": int(d.payload.get("occurrences") or 0),
                           "words": kept.text if kept else None}
        elif problem is None and d.kind == MessageKind.FOLLOWUP_RESULT:
            content = dict(d.payload)
            checkin = await session.get(CheckIn, d.payload.get("check_in_id"))
            child = await session.get(Child, checkin.child_id) if checkin and checkin.child_id else None
            content["nickname"] = child.nickname if child else None
        elif problem is None and d.kind == MessageKind.HOUSEHOLD_LEFT:
            content = dict(d.payload)
            content["case_ids"] = list((await session.scalars(
                select(Case.id).where(Case.id.in_(d.payload.get("case_ids") or []), Case.status == "open"))).all())
        if problem is not None:
            d.state, d.last_error, d.finished_at, d.lease_until = SKIPPED, problem, now, None
            continue
        assert person is not None
        content["locale"] = person.locale
        out[d.id] = content
    return out


async def _tz(session: AsyncSession, cohort_id: int | None) -> ZoneInfo:
    cohort = await session.get(Cohort, cohort_id) if cohort_id else None
    return ZoneInfo(cohort.timezone if cohort else "Asia/Shanghai")
