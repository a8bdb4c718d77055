"""An alert as a staff member reads it on the phone, in their language: who it is about (the
child's nickname and age, the household, the guardian who answered), what fired it in plain
words (the answers, the scores against their cut-offs, the change since last time, the words a
guardian wrote), and where it stands (acknowledged by whom, escalated, resolved). Built from the
alert's evidence and the exact questionnaire version that fired it; the bot renders it."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts.raising import LEXICON_SOURCE
from core.catalog.questionnaires import questionnaire_file
from core.content.questionnaires import QuestionnaireFile
from core.people import age_in_years
from core.households.identity import Identity, family_label, family_label_of
from core.locales import localized, pick_locale
from core.models import Alert, CheckIn, Child, Cohort, Draft, FreeText, Guardian, InboxMessage, Questionnaire, Staff

INBOX_SOURCE = "inbox"  # core.inbox: a family's message nobody dealt with in time


@dataclass
class ScoreLine:
    label: str
    raw: int | None
    low: int
    high: int
    scaled: int | None = None
    cutoffs: list[str] = field(default_factory=list)  # labels of the cut-offs reached
    before: int | None = None  # the previous check-in's raw score, for trend rules


@dataclass
class AlertCard:
    alert_id: int
    case_id: int | None
    severity: str
    status: str
    escalation_level: int
    opened_local: str  # "11-29 19:12" in the cohort's time zone
    subject: str  # child | guardian | household | pending (a family still enrolling)
    household_id: int | None
    family: str | None = None  # whom to call: core.households.identity.family_label
    nickname: str | None = None
    age: int | None = None
    relationship: str | None = None  # of the guardian who answered or wrote
    lives_with_children: bool | None = None
    questionnaire: str | None = None  # its title in the reader's language
    reason: str = ""
    answers: list[tuple[str, str]] = field(default_factory=list)  # (question, answer)
    scores: list[ScoreLine] = field(default_factory=list)
    unanswered_cycles: int | None = None
    words: str | None = None  # what the guardian wrote (lexicon alerts), while it is kept
    categories: list[str] = field(default_factory=list)
    occurrences: int = 1
    acknowledged_by: str | None = None
    acknowledged_local: str | None = None
    resolved_by: str | None = None
    outcome: str | None = None

    def as_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> AlertCard:
        data = dict(data)
        data["scores"] = [ScoreLine(**s) for s in data.get("scores", [])]
        data["answers"] = [tuple(a) for a in data.get("answers", [])]
        return cls(**data)


def _local(at: datetime | None, tz: ZoneInfo) -> str | None:
    return at.astimezone(tz).strftime("%m-%d %H:%M") if at else None


NO_NICKNAME = {"zh-Hans": "孩子", "en": "the child"}
LONG_SCALE = 6  # above this many answers, a phone screen shows only the ones that scored


def _answers(q: QuestionnaireFile, values: dict[str, int], locale: str, nickname: str | None) -> list[tuple[str, str]]:
    shown = {i: v for i, v in values.items() if i in q.items_by_id and v is not None}
    if len(shown) > LONG_SCALE:  # PSC-17's 17 answers: the "never"s say little
        shown = {i: v for i, v in shown.items() if v != q.choice_range(i)[0]}
    # Once the family has erased its data the child has no nickname: a neutral word, never "{nickname}".
    name = nickname if nickname is not None else localized(NO_NICKNAME, locale, default="")
    return [(q.items_by_id[i].text(locale, nickname=name), q.choice_label(i, v, locale)) for i, v in shown.items()]


def _scores(q: QuestionnaireFile, evidence: dict[str, Any], locale: str) -> list[ScoreLine]:
    lines = []
    previous = evidence.get("previous") or {}
    for scale_id, s in (evidence.get("scores") or {}).items():
        scale = q.scales_by_id.get(scale_id)
        if scale is None:
            continue
        low, high = q.scale_range(scale_id)
        reached = [c.labels[locale] for c in scale.cutoffs if c.id in (s.get("cutoffs") or [])]
        before = (previous.get(scale_id) or {}).get("raw")
        lines.append(ScoreLine(label=scale.labels[locale], raw=s.get("raw"), low=low, high=high,
                               scaled=s.get("scaled") if scale.multiplier != 1 else None, cutoffs=reached,
                               before=before))
    return lines


async def alert_card(session: AsyncSession, *, alert: Alert, locale: str, now: datetime) -> AlertCard:
    cohort = await session.get(Cohort, alert.cohort_id) if alert.cohort_id else None
    tz = ZoneInfo(cohort.timezone if cohort else "Asia/Shanghai")
    child = await session.get(Child, alert.child_id) if alert.child_id else None
    subject = alert.subject_key.split(":", 1)[0]
    card = AlertCard(
        alert_id=alert.id, case_id=alert.case_id, severity=alert.severity, status=alert.status,
        escalation_level=alert.escalation_level, opened_local=_local(alert.created_at, tz) or "", subject=subject,
        household_id=alert.household_id, reason=alert.reason, occurrences=alert.occurrences, outcome=alert.outcome,
        nickname=child.nickname if child else None,
        age=age_in_years(child.birth_year, child.birth_month, now.astimezone(tz).date()) if child else None,
    )
    evidence = alert.evidence or {}
    if alert.household_id is not None:
        card.family = await family_label_of(session, household_id=alert.household_id)
    elif subject == "pending" and evidence.get("draft_id"):
        draft = await session.get(Draft, evidence["draft_id"])
        if draft is not None:
            card.family = family_label([Identity.of_draft(draft)])
            card.relationship = (draft.data or {}).get("relationship")
            card.lives_with_children = (draft.data or {}).get("lives_with_children")
    respondent_id: int | None = None
    if alert.questionnaire_id == LEXICON_SOURCE:
        card.categories = list(evidence.get("categories") or [])
        respondent_id = evidence.get("written_by_guardian_id")
        text_id = evidence.get("free_text_id")
        kept = await session.get(FreeText, text_id) if text_id else None
        card.words = kept.text if kept else None
    elif alert.questionnaire_id == INBOX_SOURCE:
        first = await session.scalar(select(InboxMessage).where(
            InboxMessage.item_id == evidence.get("inbox_item_id"), InboxMessage.direction == "in")
            .order_by(InboxMessage.id).limit(1))
        if first is not None:
            card.words, respondent_id = first.text, first.guardian_id
    elif alert.questionnaire_id is not None:
        row = await session.get(Questionnaire, (alert.questionnaire_id, alert.questionnaire_version))
        if row is not None:
            q = questionnaire_file(row)
            loc = pick_locale(locale, available=q.texts)
            card.questionnaire = q.texts[loc].title
            rule = next((r for r in q.rules if r.id == alert.rule_id), None)
            if rule is not None:
                card.reason = rule.reasons.get(loc) or card.reason
            card.answers = _answers(q, evidence.get("answers") or {}, loc, card.nickname)
            card.scores = _scores(q, evidence, loc)
            card.unanswered_cycles = evidence.get("unanswered_cycles")
        checkin = await session.get(CheckIn, alert.check_in_id) if alert.check_in_id else None
        respondent_id = checkin.claimed_by_guardian_id if checkin else None
    if respondent_id is None and alert.guardian_id is not None:
        respondent_id = alert.guardian_id  # WHO-5: the guardian is the subject and the respondent
    guardian = await session.get(Guardian, respondent_id) if respondent_id else None
    if guardian is not None:
        card.relationship, card.lives_with_children = guardian.relationship, guardian.lives_with_children
    if alert.acknowledged_by_staff_id:
        card.acknowledged_by = await session.scalar(select(Staff.display_name)
                                                    .where(Staff.id == alert.acknowledged_by_staff_id))
        card.acknowledged_local = _local(alert.acknowledged_at, tz)
    if alert.resolved_by_staff_id:
        card.resolved_by = await session.scalar(select(Staff.display_name).where(Staff.id == alert.resolved_by_staff_id))
    return card
