"""What a guardian sees of a check-in, in their language: the title and intro, and one question
with its choices and a progress mark. Pure: built from the questionnaire version, the child's
nickname and the answers so far; the bot adapter turns it into a message with buttons."""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from core.content.questionnaires import QuestionnaireFile, render
from core.locales import pick_locale


@dataclass(frozen=True)
class QuestionView:
    checkin_id: int
    title: str
    intro: str
    stem: str | None
    index: int  # the item's position in the questionnaire (0-based)
    number: int  # 1-based, for the progress mark "3/17"
    total: int
    text: str
    choices: list[tuple[int, str]]  # (value, label), in file order
    current: int | None = None  # the answer already given to this item (after "back")
    can_go_back: bool = False
    audio: str | None = None  # the question read aloud (a path under content/media/), where recorded

    def as_payload(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> QuestionView:
        return cls(**{**data, "choices": [tuple(c) for c in data["choices"]]})


@dataclass(frozen=True)
class CheckinView:
    """A check-in at its current place: the next question, or none when every item is answered."""

    checkin_id: int
    title: str
    intro: str
    answered: int
    total: int
    question: QuestionView | None = None
    extra: dict[str, Any] = field(default_factory=dict)


def _locale(q: QuestionnaireFile, locale: str) -> str:
    return pick_locale(locale, available=q.texts)


def question_view(q: QuestionnaireFile, *, checkin_id: int, index: int, locale: str, nickname: str | None,
                  answers: dict[str, int]) -> QuestionView:
    loc = _locale(q, locale)
    texts = q.texts[loc]
    item = q.items[index]
    choices = [(c.value, c.labels[loc]) for c in q.choice_sets[item.choices]]
    answered_before = any(other.id in answers for other in q.items[:index])
    return QuestionView(
        checkin_id=checkin_id, title=texts.title, intro=render(texts.intro, nickname),
        stem=render(texts.stem, nickname) if texts.stem else None, index=index, number=index + 1,
        total=len(q.items), text=item.text(loc, nickname=nickname), choices=choices,
        current=answers.get(item.id), can_go_back=answered_before,
        audio=(item.audio or {}).get(loc),
    )


def checkin_view(q: QuestionnaireFile, *, checkin_id: int, cursor: int, locale: str, nickname: str | None,
                 answers: dict[str, int]) -> CheckinView:
    loc = _locale(q, locale)
    texts = q.texts[loc]
    question = None
    if cursor < len(q.items):
        question = question_view(q, checkin_id=checkin_id, index=cursor, locale=loc, nickname=nickname,
                                 answers=answers)
    return CheckinView(checkin_id=checkin_id, title=texts.title, intro=render(texts.intro, nickname),
                       answered=len([i for i in q.items if i.id in answers]), total=len(q.items), question=question)
