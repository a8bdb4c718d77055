"""/mydata in full: everything kept about one guardian and their children that they may see.

DESIGN.md "Privacy inside a household": a guardian sees their own answers and their own words,
never another guardian's answers, words, scores or alerts. Of the director's record they see the
calls and home visits logged with the family (they took part in them) and whether an alert came
from their own answers or words; never staff notes (which may repeat what another guardian said)
and never an alert raised by someone else. A pure read; the guardian reads their own data, so no
staff audit row is written."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.catalog.questionnaires import questionnaire_file
from core.locales import pick_locale
from core.models import Alert, Answer, CaseEvent, CheckIn, Child, FreeText, Guardian, Questionnaire


@dataclass
class AnsweredCheckIn:
    at: datetime
    title: str
    nickname: str | None  # the child it was about; None for their own wellbeing (WHO-5)
    answers: list[tuple[str, str]] = field(default_factory=list)  # (question, answer), their own only


@dataclass
class GuardianRecord:
    checkins: list[AnsweredCheckIn]
    words: list[tuple[datetime, str]]  # notes and messages of theirs that are kept
    own_alerts: list[tuple[datetime, str]]  # (opened, status) of alerts their own answers or words raised
    contacts: list[tuple[datetime, str]]  # (when, call | visit) the child director logged with the family


async def guardian_record(session: AsyncSession, *, guardian: Guardian, locale: str) -> GuardianRecord:
    children = {c.id: c.nickname for c in (await session.scalars(
        select(Child).where(Child.household_id == guardian.household_id))).all()}
    answers = (await session.scalars(
        select(Answer).where(Answer.answered_by_guardian_id == guardian.id).order_by(Answer.check_in_id, Answer.id)
    )).all()
    by_checkin: dict[int, list[Answer]] = {}
    for a in answers:
        by_checkin.setdefault(a.check_in_id, []).append(a)
    checkins: list[AnsweredCheckIn] = []
    own_checkin_ids = list(by_checkin)
    for checkin in (await session.scalars(select(CheckIn).where(CheckIn.id.in_(own_checkin_ids))
                                          .order_by(CheckIn.created_at, CheckIn.id))).all():
        row = await session.get(Questionnaire, (checkin.questionnaire_id, checkin.questionnaire_version))
        nickname = children.get(checkin.child_id) if checkin.child_id else None
        if row is None:
            continue
        q = questionnaire_file(row)
        loc = pick_locale(locale, available=q.texts)
        item = AnsweredCheckIn(at=checkin.completed_at or checkin.created_at, title=q.texts[loc].title, nickname=nickname)
        for a in by_checkin[checkin.id]:
            if a.item_id in q.items_by_id:
                item.answers.append((q.items_by_id[a.item_id].text(loc, nickname=nickname),
                                     q.choice_label(a.item_id, a.value, loc)))
        checkins.append(item)
    words = [(t.received_at, t.text) for t in (await session.scalars(
        select(FreeText).where(FreeText.guardian_id == guardian.id).order_by(FreeText.received_at))).all()]
    text_ids = [t_id for t_id in (await session.scalars(
        select(FreeText.id).where(FreeText.guardian_id == guardian.id))).all()]
    conditions: list[ColumnElement[bool]] = []
    if own_checkin_ids:
        conditions.append(Alert.check_in_id.in_(own_checkin_ids))
    conditions.append(Alert.guardian_id == guardian.id)  # their own wellbeing (WHO-5)
    alerts = list((await session.scalars(select(Alert).where(or_(*conditions)))).all())
    if text_ids:
        for alert in (await session.scalars(select(Alert).where(Alert.household_id == guardian.household_id,
                                                                Alert.questionnaire_id == "lexicon"))).all():
            if set(alert.evidence.get("free_text_ids") or []) & set(text_ids) and alert not in alerts:
                alerts.append(alert)
    own_alerts = sorted((a.created_at, a.status) for a in alerts)
    contacts = [(e.at, (e.detail or {}).get("method") or "call") for e in (await session.scalars(
        select(CaseEvent).where(CaseEvent.household_id == guardian.household_id, CaseEvent.kind == "contact")
        .order_by(CaseEvent.at))).all()]
    return GuardianRecord(checkins=checkins, words=words, own_alerts=own_alerts, contacts=contacts)
