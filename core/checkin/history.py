"""A child's check-in history for staff (and a guardian's own WHO-5 check-ins): what was asked,
who answered, the answers, scores, the closing note and the alerts raised. Personal data about
children, so scoped (outside the reader's cohorts: not found) and audited on every read."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.access import Scope
from core.checkin.schemas import AnswerRead, CheckinRecordRead, GuardianRef, ScoreRead
from core.catalog.questionnaires import stored_questionnaire_file
from core.checkin.service import child_key, guardian_key
from core.content.questionnaires import QuestionnaireFile
from core.errors import NotFound
from core.locales import pick_locale
from core.models import Alert, Answer, CheckIn, CheckInScore, Child, FreeText, Guardian, Household, Questionnaire



async def child_checkins(
    session: AsyncSession, *, scope: Scope, child_id: int, locale: str, now: datetime,
    questionnaire_id: str | None = None, limit: int = 50, offset: int = 0,
) -> list[CheckinRecordRead]:
    """Check-ins about this child, newest first."""
    cohort_id = await session.scalar(select(Household.cohort_id).join(Child, Child.household_id == Household.id)
                                     .where(Child.id == child_id))
    if cohort_id is None or not scope.sees(cohort_id):
        raise NotFound("child not found")
    records = await _records(session, subject=CheckIn.child_id == child_id, key=child_key(child_id),
                             locale=locale, questionnaire_id=questionnaire_id, limit=limit, offset=offset)
    audit.record(session, staff_id=scope.staff_id, action="read", entity="checkin", cohort_id=cohort_id, now=now,
                 child_id=child_id, ids=[r.id for r in records])
    return records


async def guardian_checkins(
    session: AsyncSession, *, scope: Scope, guardian_id: int, locale: str, now: datetime,
    questionnaire_id: str | None = None, limit: int = 50, offset: int = 0,
) -> list[CheckinRecordRead]:
    """Check-ins about this guardian themself (WHO-5), newest first."""
    cohort_id = await session.scalar(select(Household.cohort_id).join(Guardian, Guardian.household_id == Household.id)
                                     .where(Guardian.id == guardian_id))
    if cohort_id is None or not scope.sees(cohort_id):
        raise NotFound("guardian not found")
    records = await _records(session, subject=CheckIn.subject_guardian_id == guardian_id,
                             key=guardian_key(guardian_id), locale=locale, questionnaire_id=questionnaire_id,
                             limit=limit, offset=offset)
    audit.record(session, staff_id=scope.staff_id, action="read", entity="checkin", cohort_id=cohort_id, now=now,
                 guardian_id=guardian_id, ids=[r.id for r in records])
    return records


async def _records(
    session: AsyncSession, *, subject: ColumnElement[bool], key: str, locale: str,
    questionnaire_id: str | None, limit: int, offset: int,
) -> list[CheckinRecordRead]:
    # Columns, not ORM objects, throughout: this list is read on every child's page.
    query = select(CheckIn.id, CheckIn.questionnaire_id, CheckIn.questionnaire_version, CheckIn.child_id,
                   CheckIn.subject_guardian_id, CheckIn.cycle, CheckIn.state, CheckIn.due_at, CheckIn.expires_at,
                   CheckIn.completed_at, Questionnaire.sha256.label("questionnaire_sha256")).where(subject)
    # The hash of each row's questionnaire version comes along: its parsed file is then taken
    # from the process's cache without another query (stored_questionnaire_file).
    query = query.outerjoin(Questionnaire, and_(Questionnaire.id == CheckIn.questionnaire_id,
                                                Questionnaire.version == CheckIn.questionnaire_version))
    if questionnaire_id is not None:
        query = query.where(CheckIn.questionnaire_id == questionnaire_id)
    checkins = list((await session.execute(
        query.order_by(CheckIn.created_at.desc(), CheckIn.id.desc()).limit(limit).offset(offset)
    )).all())
    if not checkins:
        return []
    ids = [c.id for c in checkins]

    answers: dict[int, list[Any]] = {}  # rows of the columns selected
    for a in (await session.execute(
        select(Answer.check_in_id, Answer.item_id, Answer.value, Answer.answered_by_guardian_id, Answer.answered_at,
               Answer.changed_at)
        .where(Answer.check_in_id.in_(ids)).order_by(Answer.answered_at, Answer.id)
    )).all():
        answers.setdefault(a.check_in_id, []).append(a)
    scores: dict[int, dict[str, Any]] = {}
    for s in (await session.execute(
        select(CheckInScore.check_in_id, CheckInScore.scale_id, CheckInScore.raw, CheckInScore.scaled,
               CheckInScore.status, CheckInScore.cutoffs, CheckInScore.reason)
        .where(CheckInScore.check_in_id.in_(ids))
    )).all():
        scores.setdefault(s.check_in_id, {})[s.scale_id] = s
    notes = {n.check_in_id: n.text for n in (await session.execute(
        select(FreeText.check_in_id, FreeText.text).where(FreeText.check_in_id.in_(ids), FreeText.kind == "note")
        .order_by(FreeText.received_at, FreeText.id)
    )).all()}
    # An alert names the latest check-in that fired it; its evidence lists every one.
    alerts = (await session.execute(
        select(Alert.id, Alert.check_in_id, Alert.evidence)
        .where((Alert.subject_key == key) | Alert.check_in_id.in_(ids)).order_by(Alert.id)
    )).all()
    guardian_ids = {a.answered_by_guardian_id for rows in answers.values() for a in rows} - {None}
    relationships = dict((await session.execute(
        select(Guardian.id, Guardian.relationship).where(Guardian.id.in_(guardian_ids))
    )).all()) if guardian_ids else {}
    forms: dict[tuple[str, int], QuestionnaireFile] = {}
    for pair, sha in {(c.questionnaire_id, c.questionnaire_version): c.questionnaire_sha256 for c in checkins}.items():
        forms[pair] = await stored_questionnaire_file(session, questionnaire_id=pair[0], version=pair[1], sha256=sha)

    out = []
    for c in checkins:
        q = forms[(c.questionnaire_id, c.questionnaire_version)]
        loc = pick_locale(locale, available=q.texts)
        given = answers.get(c.id, [])
        who: list[int] = []
        for a in given:
            if a.answered_by_guardian_id is not None and a.answered_by_guardian_id not in who:
                who.append(a.answered_by_guardian_id)
        order = {item.id: i for i, item in enumerate(q.items)}
        stored = scores.get(c.id, {})
        out.append(CheckinRecordRead(
            id=c.id, questionnaire_id=c.questionnaire_id, questionnaire_version=c.questionnaire_version,
            title=q.texts[loc].title, child_id=c.child_id, guardian_id=c.subject_guardian_id, cycle=c.cycle,
            state=c.state, due_at=c.due_at, expires_at=c.expires_at, completed_at=c.completed_at,
            answered_by=[GuardianRef(guardian_id=g, relationship=relationships[g]) for g in who if g in relationships],
            scores=[ScoreRead(scale_id=scale.id, label=scale.labels[loc], raw=sc.raw, scaled=sc.scaled,
                              status=sc.status, cutoffs=list(sc.cutoffs), reason=sc.reason)
                    for scale in q.scales if (sc := stored.get(scale.id)) is not None],
            answers=[AnswerRead(item_id=a.item_id, value=a.value, label=q.choice_label(a.item_id, a.value, loc),
                                answered_by_guardian_id=a.answered_by_guardian_id, answered_at=a.answered_at,
                                changed_at=a.changed_at)
                     for a in sorted(given, key=lambda a: order.get(a.item_id, len(order)))],
            note=notes.get(c.id),
            alert_ids=[a.id for a in alerts if a.check_in_id == c.id or c.id in a.evidence.get("check_in_ids", [])],
        ))
    return out
