"""The enrolment conversation, channel-neutral: enrolling a household, joining one, adding or
correcting a child, correcting what to call the guardian. State lives in the Draft row; each
input — a choice id (a tapped button or a web form's radio), a typed text, a shared phone
number — moves it on or is refused with a reason, and the result says what to show next as
plain data. The bot's handlers (bot/handlers/flow.py) and a web page drive the same flow;
neither decides which answers a step accepts.

Flows never commit: the caller commits before it shows the result (nothing a person said is
lost)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from core import people
from core.enrolment import service as enrolment
from core.errors import CodeRejected, Conflict, Invalid
from core.models import Draft, Guardian
from core.models.enums import DraftFlow
from core.staff.directors import primary_director_name

# Steps answered by typing (or, for the phone, by sharing it); every other step is a choice.
TEXT_STEPS = (enrolment.CALL_NAME, enrolment.PHONE, enrolment.VILLAGE, enrolment.CHILD_NICKNAME,
              enrolment.CHILD_BIRTH_YEAR, enrolment.CHILD_BIRTH_MONTH)
# Flows an enrolled guardian may walk away from with "cancel".
CANCELLABLE = (DraftFlow.add_child, DraftFlow.edit_child, DraftFlow.edit_identity)

Outcome = Literal[
    "step",  # show the draft's current step (the next one, or the same again with `hint`)
    "cancelled",  # the guardian cancelled a correction: nothing changed, the draft is gone
    "enrolled", "joined",  # a household enrolled / a guardian joined one: the draft is gone
    "child_added", "child_saved", "identity_saved",
    "invitation_gone",  # the invitation was used up or revoked meanwhile: the draft is gone
    "already_enrolled",  # this person is enrolled already: the draft is gone
    "declined",  # they said no to the consent text: nothing kept (but `flagged` words already passed on)
]


@dataclass(frozen=True)
class Next:
    """What to show after an input. `hint` says why the input was not taken (then the same step
    is shown again): an Invalid code of core.people ("nickname_too_long" …, with `limit`),
    "stale_step" (an answer from an earlier question), "please_choose" (typing where a choice
    is expected) or "please_type" (no text where text is expected)."""

    outcome: Outcome
    step: str | None = None
    hint: str | None = None
    limit: int | None = None
    accepted: bool = False  # the input was taken (a phone step says thank you)
    nickname: str | None = None  # the child added or corrected
    director: str | None = None  # the name new families are told
    flagged: bool = False  # declined after words that worried us went to the director: say so honestly

    @classmethod
    def again(cls, draft: Draft, hint: str, limit: int | None = None) -> Next:
        return cls("step", step=draft.step, hint=hint, limit=limit)


def limit_for(code: str) -> int:
    """The length or count an Invalid code's message mentions."""
    if code.startswith("call_name"):
        return people.CALL_NAME_MAX
    if code.startswith("village"):
        return people.VILLAGE_MAX
    return people.NICKNAME_MAX if code.startswith("nickname") else people.MAX_CHILDREN


def _refused(draft: Draft, exc: Invalid) -> Next:
    return Next.again(draft, exc.code, limit_for(exc.code))


async def consent(session: AsyncSession, *, draft: Draft, agree: bool, version: int, now: datetime) -> Next:
    """Yes or no to the consent text of `version` (the one they were shown)."""
    if draft.step != enrolment.CONSENT:
        return Next.again(draft, "stale_step")
    if agree:
        enrolment.accept_consent(draft, version=version, now=now)
        return Next("step", step=draft.step, accepted=True)
    flagged = bool((draft.data or {}).get("flagged_text_ids"))
    await enrolment.decline_consent(session, draft=draft, version=version, now=now)
    return Next("declined", flagged=flagged)


async def choose(session: AsyncSession, *, draft: Draft, guardian: Guardian | None, value: str,
                 now: datetime) -> Next:
    """A choice at the draft's step: a language, a relationship, "with"/"away", a birth year or
    month, a sex, "more"/"done", "skip" (phone, village), "yes"/"restart" at the summary, or
    "cancel" in a correction."""
    try:
        if value == "cancel" and draft.flow in CANCELLABLE:
            await enrolment.drop_draft(session, draft=draft)
            return Next("cancelled")
        if draft.step == enrolment.CONFIRM and value == "yes":
            return await _complete(session, draft=draft, guardian=guardian, now=now)
        _apply_choice(draft, value, now)
    except Invalid as exc:
        return _refused(draft, exc)
    except Conflict:
        return Next.again(draft, "stale_step")
    return Next("step", step=draft.step, accepted=True)


def _apply_choice(draft: Draft, value: str, now: datetime) -> None:
    step = draft.step
    today = now.date()
    if step == enrolment.LANGUAGE:
        enrolment.choose_language(draft, locale=value, now=now)
    elif step == enrolment.RELATIONSHIP:
        enrolment.choose_relationship(draft, relationship=value, now=now)
    elif step == enrolment.RESIDENCE:
        enrolment.choose_residence(draft, lives_with_children=value == "with", now=now)
    elif step == enrolment.PHONE and value == "skip":
        enrolment.enter_phone(draft, text=None, now=now)
    elif step == enrolment.VILLAGE and value == "skip":
        enrolment.enter_village(draft, text=None, now=now)
    elif step == enrolment.CHILD_BIRTH_YEAR:
        enrolment.enter_birth_year(draft, year=people.parse_year(value), today=today, now=now)
    elif step == enrolment.CHILD_BIRTH_MONTH:
        enrolment.enter_birth_month(draft, month=people.parse_month(value), today=today, now=now)
    elif step == enrolment.CHILD_SEX:
        enrolment.choose_sex(draft, sex=None if value == "none" else value, now=now)
    elif step == enrolment.MORE_CHILDREN:
        enrolment.more_children(draft, add_another=value == "more", now=now)
    elif step == enrolment.CONFIRM and value == "restart":
        enrolment.restart_children(draft, now=now)
    else:
        raise Conflict("no such answer at this step", code="stale_step")


def answer_text(draft: Draft, *, text: str | None, now: datetime, contact_phone: str | None = None,
                skipped: bool = False) -> Next:
    """A typed answer at a text step (`skipped`: the person typed the channel's word for "skip";
    `contact_phone`: they shared their number). Anything at a choice step is refused with
    "please_choose". Risk words are the caller's to scan first (core.checkin.free_text)."""
    step = draft.step
    if step not in TEXT_STEPS:
        return Next.again(draft, "please_choose")
    if step == enrolment.PHONE and contact_phone is not None:
        text = contact_phone
    if text is None:
        return Next.again(draft, "please_type")
    try:
        if step == enrolment.CALL_NAME:
            enrolment.enter_call_name(draft, text=text, now=now)
        elif step == enrolment.PHONE:
            enrolment.enter_phone(draft, text=None if skipped else text, now=now)
        elif step == enrolment.VILLAGE:
            enrolment.enter_village(draft, text=text, now=now)
        elif step == enrolment.CHILD_NICKNAME:
            enrolment.enter_nickname(draft, text=text, now=now)
        elif step == enrolment.CHILD_BIRTH_YEAR:
            enrolment.enter_birth_year(draft, year=people.parse_year(text), today=now.date(), now=now)
        else:
            enrolment.enter_birth_month(draft, month=people.parse_month(text), today=now.date(), now=now)
    except Invalid as exc:
        return _refused(draft, exc)
    return Next("step", step=draft.step, accepted=True)


async def _complete(session: AsyncSession, *, draft: Draft, guardian: Guardian | None, now: datetime) -> Next:
    """The last "yes": store everything; the caller commits before it says it is done."""
    if draft.flow == DraftFlow.edit_identity:
        if guardian is None:
            raise Conflict("identity flow without a guardian", code="stale_step")
        await enrolment.complete_identity_edit(session, draft=draft, guardian=guardian, now=now)
        return Next("identity_saved")
    if draft.flow in (DraftFlow.add_child, DraftFlow.edit_child):
        if guardian is None:
            raise Conflict("child flow without a guardian", code="stale_step")
        child = await enrolment.complete_child_draft(session, draft=draft, guardian=guardian, now=now)
        return Next("child_saved" if draft.flow == DraftFlow.edit_child else "child_added", nickname=child.nickname)
    try:
        enrolled = await enrolment.complete_enrolment(session, draft=draft, now=now)
    except CodeRejected:
        await enrolment.drop_draft(session, draft=draft)
        return Next("invitation_gone")
    except Conflict as exc:
        if exc.code != "already_enrolled":
            raise
        await enrolment.drop_draft(session, draft=draft)
        return Next("already_enrolled")
    director = await primary_director_name(session, cohort_id=enrolled.household.cohort_id)
    return Next("joined" if draft.flow == DraftFlow.join else "enrolled", director=director)
