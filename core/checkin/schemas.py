"""Read shapes of questionnaires, of a cohort's check-in calendar and of a child's (or a
guardian's) check-in history. The write shape of a questionnaire is the strict content model,
core.content.questionnaires.QuestionnaireFile, without the version: the library numbers versions."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field

from core.content.questionnaires import ID_PATTERN, QuestionnaireFile
from core.models import Questionnaire


class CutOffRead(BaseModel):
    id: str
    direction: str  # at_least | at_most
    threshold: int
    score: str  # raw | scaled


class ScaleRead(BaseModel):
    id: str
    items: list[str]
    cutoffs: list[CutOffRead]


class RuleRead(BaseModel):
    id: str
    kind: str
    severity: str
    audience: str


class QuestionnaireRead(BaseModel):
    """A summary for choosing and reviewing, plus the whole validated file in `doc`."""

    id: str
    version: int
    subject: str  # child | self
    titles: dict[str, str]  # per locale
    source: dict[str, Any]  # citation, url
    licence: dict[str, Any]  # text, verified
    translation: dict[str, str]  # per locale: published | adapted | own_unvalidated | original
    item_count: int
    scales: list[ScaleRead]
    rules: list[RuleRead]
    doc: dict[str, Any]
    loaded_at: datetime
    retired_at: datetime | None

    @classmethod
    def of(cls, row: Questionnaire, q: QuestionnaireFile) -> QuestionnaireRead:
        return cls(
            id=row.id, version=row.version, subject=row.subject,
            titles={loc: text.title for loc, text in q.texts.items()},
            source=q.source.model_dump(mode="json"), licence=q.licence.model_dump(mode="json"),
            translation={loc: t.status for loc, t in q.translation.items()}, item_count=len(q.items),
            scales=[ScaleRead(id=s.id, items=list(s.items),
                              cutoffs=[CutOffRead(id=c.id, direction=c.direction, threshold=c.threshold, score=c.score)
                                       for c in s.cutoffs])
                    for s in q.scales],
            rules=[RuleRead(id=r.id, kind=r.kind, severity=r.severity, audience=r.audience) for r in q.rules],
            doc=row.doc, loaded_at=row.loaded_at, retired_at=row.retired_at,
        )


class GuardianRef(BaseModel):
    """Who answered: never a chat id or a name."""

    guardian_id: int
    relationship: str


class AnswerRead(BaseModel):
    item_id: str
    value: int
    label: str  # the choice, in the reader's language
    answered_by_guardian_id: int | None  # None once that guardian erased their data
    answered_at: datetime
    changed_at: datetime | None


class ScoreRead(BaseModel):
    scale_id: str
    label: str
    raw: int | None
    scaled: int | None
    status: str  # complete | incomplete | invalid
    cutoffs: list[str]  # ids of the cut-offs reached
    reason: str | None


class CheckinRecordRead(BaseModel):
    """One check-in as the child director reviews it, in the reader's language."""

    id: int
    questionnaire_id: str
    questionnaire_version: int
    title: str
    child_id: int | None
    guardian_id: int | None  # the guardian it is about (WHO-5)
    cycle: str
    state: str  # open | in_progress | completed | expired
    due_at: datetime
    expires_at: datetime
    completed_at: datetime | None
    answered_by: list[GuardianRef]  # in the order they first answered
    scores: list[ScoreRead]  # in the questionnaire's scale order; empty until completed or expired
    answers: list[AnswerRead]  # in the questionnaire's item order
    note: str | None  # the closing note for the director, if one was written
    alert_ids: list[int]  # alerts this check-in raised or added to


class SendNowCreate(BaseModel):
    """POST …/checkins/send-now: why (recorded on the round and in the audit log), and which
    questionnaire (default: the weekly check-in)."""

    model_config = {"extra": "forbid"}

    reason: str = Field(min_length=1, max_length=500)
    questionnaire_id: str = Field(default="weekly_checkin", pattern=ID_PATTERN, max_length=64)


class SendNowRead(BaseModel):
    target: str  # cohort | household | child
    target_id: int
    cohort_id: int
    questionnaire_id: str
    cycle: str  # adhoc:<local date>:<target>:<id>
    round_id: int
    checkins: int  # opened now
    deliveries: int  # first messages queued now (they go out outside the family's quiet hours)
    already_open: int  # children (or guardians) who already had this questionnaire open: not asked twice
    already_sent: bool  # this target got this questionnaire earlier today: nothing new was sent
