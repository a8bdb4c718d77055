"""What the outbox sends for a check-in, fixed at send time: the check-in's current question
(a guardian who has already started gets where they are, not question 1), or nothing at all
when it was answered or closed in the meantime. The sender calls this for each claimed batch."""
from __future__ import annotations

from datetime import datetime
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.checkin.service import ANSWERABLE, answers_by_item, get_questionnaire
from core.checkin.views import checkin_view
from core.locales import pick_locale
from core.messages import MessageKind
from core.models import CheckIn, Child, Delivery, Guardian

KINDS = (MessageKind.CHECKIN, MessageKind.CHECKIN_REMINDER, MessageKind.CHECKIN_CLOSED)
SKIPPED = "skipped"


class _Claimed(Protocol):
    delivery: Delivery
    guardian: Guardian | None


async def resolve_checkins(session: AsyncSession, *, items: Sequence[_Claimed], now: datetime) -> dict[int, dict[str, Any]]:
    """delivery id → content for the check-in deliveries among `items`; those no longer worth
    sending are marked skipped with the reason (never a message about a closed check-in)."""
    todo = [i for i in items if i.delivery.kind in KINDS and i.delivery.state == "sending"]
    if not todo:
        return {}
    ids = {int(i.delivery.payload["checkin_id"]) for i in todo}
    checkins = {c.id: c for c in (await session.scalars(select(CheckIn).where(CheckIn.id.in_(ids)))).all()}
    child_ids = {c.child_id for c in checkins.values() if c.child_id is not None}
    nicknames: dict[int | None, str] = dict((await session.execute(select(Child.id, Child.nickname).where(Child.id.in_(child_ids)))).all())
    out: dict[int, dict[str, Any]] = {}
    for item in todo:
        d = item.delivery
        checkin = checkins.get(int(d.payload["checkin_id"]))
        guardian_id = item.guardian.id if item.guardian else None
        problem = None
        if checkin is None:
            problem = "checkin_gone"
        elif d.kind != MessageKind.CHECKIN_CLOSED and (checkin.state not in ANSWERABLE or now >= checkin.expires_at):
            problem = "checkin_closed"
        elif d.kind != MessageKind.CHECKIN_CLOSED and checkin.claimed_by_guardian_id not in (None, guardian_id):
            problem = "claimed_by_other"
        elif d.kind != MessageKind.CHECKIN_CLOSED and checkin.cursor >= len(
                (await get_questionnaire(session, questionnaire_id=checkin.questionnaire_id,
                                         version=checkin.questionnaire_version)).items):
            problem = "checkin_answered"
        if problem is not None:
            d.state, d.last_error, d.finished_at, d.lease_until = SKIPPED, problem, now, None
            continue
        assert checkin is not None
        q = await get_questionnaire(session, questionnaire_id=checkin.questionnaire_id,
                                    version=checkin.questionnaire_version)
        locale = pick_locale(item.guardian.locale if item.guardian else None)
        view = checkin_view(q, checkin_id=checkin.id, cursor=checkin.cursor, locale=locale,
                            nickname=nicknames.get(checkin.child_id), answers=await answers_by_item(session, checkin.id))
        content: dict[str, Any] = {"checkin_id": checkin.id, "title": view.title, "intro": view.intro,
                                   "answered": view.answered, "total": view.total,
                                   "nickname": nicknames.get(checkin.child_id),
                                   "question": view.question.as_payload() if view.question else None}
        if d.kind == MessageKind.CHECKIN_REMINDER:
            content["reminder"] = d.payload.get("reminder", 1)
        out[d.id] = content
    return out
