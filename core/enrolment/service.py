"""Enrolment and the guardian's own data: codes, drafts, households, children, stop, erase.

The conversation itself lives in a Draft row (one per chat), so it survives restarts and a
second /start resumes it. Each step function validates its input, updates the draft and
moves it on; the bot only renders the step it is told.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts import erasure
from core.alerts.notify import tell_directors
from core.checkin.free_text import adopt_enrolment_texts
from core.config import SUPPORTED_LOCALES
from core.db import affected_rows
from core.endpoints.service import add_endpoint, endpoints_of, guardian_at
from core.enrolment import notices
from core import people as rules
from core.enrolment.invitations import invitation_problem
from core.inbox import recordings
from core.errors import CodeRejected, Conflict, Invalid, NotFound
from core.messages import MessageKind
from core.staff.directors import primary_director_contact, primary_director_name
from core.inputs import check_timezone
from core.locales import pick_locale
from core.models import (
    Case,
    Child,
    CodeAttempt,
    Cohort,
    ConsentDecline,
    Draft,
    Guardian,
    Household,
    HouseholdInvite,
    Invitation,
    Staff,
)
from core.models.enums import DraftFlow, GuardianStatus, Relationship, Sex
from core.security import hash_secret, new_code

# Steps, in order. Which ones a flow uses is decided by next_step().
LANGUAGE = "language"
CONSENT = "consent"
RELATIONSHIP = "relationship"
RESIDENCE = "residence"
CALL_NAME = "call_name"
PHONE = "phone"
VILLAGE = "village"
CHILD_NICKNAME = "child_nickname"
CHILD_BIRTH_YEAR = "child_birth_year"
CHILD_BIRTH_MONTH = "child_birth_month"
CHILD_SEX = "child_sex"
MORE_CHILDREN = "more_children"
CONFIRM = "confirm"


# ---------------------------------------------------------------- codes


@dataclass
class CodeResult:
    kind: str | None = None  # "staff" | "invitation" | "household" ; None when rejected
    staff: Staff | None = None
    invitation: Invitation | None = None
    household_invite: HouseholdInvite | None = None
    problem: str | None = None  # unknown | expired | used_up | revoked | too_many_attempts
    retry_after_minutes: int = 0


async def resolve_code(
    session: AsyncSession,
    *,
    address: str,
    code: str,
    now: datetime,
    max_attempts: int,
    window_minutes: int,
) -> CodeResult:
    """Find what a /start code opens. Wrong codes are counted per address and slowed down."""
    since = now - timedelta(minutes=window_minutes)
    recent = await session.scalars(
        select(CodeAttempt.attempted_at)
        .where(CodeAttempt.address == address, CodeAttempt.attempted_at > since)
        .order_by(CodeAttempt.attempted_at)
    )
    attempts = list(recent.all())
    if len(attempts) >= max_attempts:
        oldest = attempts[-max_attempts]
        wait = oldest + timedelta(minutes=window_minutes) - now
        minutes = max(1, int(wait.total_seconds() // 60) + 1)
        return CodeResult(problem="too_many_attempts", retry_after_minutes=minutes)

    code = code.strip()
    result = await _match_code(session, code=code, now=now)
    if result.problem is not None:
        session.add(CodeAttempt(address=address, attempted_at=now))
    return result


async def _match_code(session: AsyncSession, *, code: str, now: datetime) -> CodeResult:
    if not code or len(code) > 64:
        return CodeResult(problem="unknown")
    staff = await session.scalar(select(Staff).where(Staff.link_code_hash == hash_secret(code)))
    if staff is not None:
        if not staff.active or staff.link_code_expires_at is None or staff.link_code_expires_at <= now:
            return CodeResult(problem="expired")
        return CodeResult(kind="staff", staff=staff)
    invitation = await session.scalar(select(Invitation).where(Invitation.code == code.lower()))
    if invitation is not None:
        problem = invitation_problem(invitation, now)
        if problem:
            return CodeResult(problem=problem)
        return CodeResult(kind="invitation", invitation=invitation)
    invite = await session.scalar(select(HouseholdInvite).where(HouseholdInvite.code == code.lower()))
    if invite is not None:
        if invite.used_at is not None:
            return CodeResult(problem="used_up")
        if invite.expires_at <= now:
            return CodeResult(problem="expired")
        return CodeResult(kind="household", household_invite=invite)
    return CodeResult(problem="unknown")


# ---------------------------------------------------------------- drafts


async def get_draft(session: AsyncSession, *, address: str) -> Draft | None:
    return await session.scalar(select(Draft).where(Draft.address == address))


async def begin_flow(
    session: AsyncSession,
    *,
    address: str,
    flow: DraftFlow,
    now: datetime,
    invitation_id: int | None = None,
    household_invite_id: int | None = None,
    locale: str | None = None,
    data: dict[str, Any] | None = None,
) -> Draft:
    """Start a flow at an address, or resume the same one if it is already under way."""
    draft = await get_draft(session, address=address)
    if draft is not None:
        same = (
            draft.flow == flow
            and draft.invitation_id == invitation_id
            and draft.household_invite_id == household_invite_id
        )
        if same and flow in (DraftFlow.enrol, DraftFlow.join):
            draft.updated_at = now
            return draft
        await session.delete(draft)
        await session.flush()
    first = LANGUAGE if flow in (DraftFlow.enrol, DraftFlow.join) and locale is None else None
    if first is None:
        first = CONSENT if flow in (DraftFlow.enrol, DraftFlow.join) else CHILD_NICKNAME
    if flow == DraftFlow.edit_identity:
        first = CALL_NAME
    draft = Draft(
        address=address,
        flow=flow,
        step=first,
        locale=locale,
        invitation_id=invitation_id,
        household_invite_id=household_invite_id,
        data=dict(data or {}),
        created_at=now,
        updated_at=now,
    )
    session.add(draft)
    await session.flush()
    return draft


async def drop_draft(session: AsyncSession, *, draft: Draft) -> None:
    """The draft is over (cancelled, or its invitation is gone): forget it."""
    await session.execute(delete(Draft).where(Draft.id == draft.id))


def _expect(draft: Draft, *steps: str) -> None:
    if draft.step not in steps:
        raise Conflict(f"this step is over (now at {draft.step})", code="stale_step")


def _save(draft: Draft, *, step: str, now: datetime, **changes: Any) -> Draft:
    data = dict(draft.data or {})
    data.update(changes)
    draft.data = data  # reassign so the JSON column is marked dirty
    draft.step = step
    draft.updated_at = now
    return draft


def choose_language(draft: Draft, *, locale: str, now: datetime) -> Draft:
    if locale not in SUPPORTED_LOCALES:
        raise Invalid("unsupported language", field="locale")
    draft.locale = locale
    if draft.step == LANGUAGE:
        draft.step = CONSENT
    draft.updated_at = now
    return draft


def accept_consent(draft: Draft, *, version: int, now: datetime) -> Draft:
    _expect(draft, CONSENT)
    return _save(draft, step=RELATIONSHIP, now=now, consent_version=version)


async def decline_consent(session: AsyncSession, *, draft: Draft, version: int, now: datetime) -> None:
    """'No' stores nothing about the person: the draft goes, an anonymous count stays."""
    _expect(draft, CONSENT)
    cohort_id = await _draft_cohort_id(session, draft)
    session.add(ConsentDecline(cohort_id=cohort_id, consent_version=version, declined_on=now.date()))
    await session.delete(draft)
    await session.flush()


def choose_relationship(draft: Draft, *, relationship: str, now: datetime) -> Draft:
    _expect(draft, RELATIONSHIP)
    try:
        value = Relationship(relationship)
    except ValueError:
        raise Invalid("unknown relationship", field="relationship") from None
    return _save(draft, step=RESIDENCE, now=now, relationship=value.value)


def choose_residence(draft: Draft, *, lives_with_children: bool, now: datetime) -> Draft:
    _expect(draft, RESIDENCE)
    return _save(draft, step=CALL_NAME, now=now, lives_with_children=bool(lives_with_children))


def enter_call_name(draft: Draft, *, text: str, now: datetime) -> Draft:
    """What the family calls them (王奶奶): the name the director asks for at the door."""
    _expect(draft, CALL_NAME)
    return _save(draft, step=PHONE, now=now, call_name=rules.clean_call_name(text))


def enter_phone(draft: Draft, *, text: str | None, now: datetime) -> Draft:
    """A number the director can call, shared with a contact button or typed; None skips it."""
    _expect(draft, PHONE)
    phone = None if text is None else rules.clean_phone(text)
    return _save(draft, step=VILLAGE, now=now, phone=phone)


def enter_village(draft: Draft, *, text: str | None, now: datetime) -> Draft:
    """Where the house is (三组 村口小卖部旁); None skips it."""
    _expect(draft, VILLAGE)
    village = None if text is None else rules.clean_village(text)
    step = CHILD_NICKNAME if draft.flow == DraftFlow.enrol else CONFIRM
    return _save(draft, step=step, now=now, village=village)


async def begin_identity_edit(session: AsyncSession, *, guardian: Guardian, address: str, now: datetime) -> Draft:
    """/settings → "What to call me, phone, where I live": the same three steps, then a summary,
    at the address they asked from."""
    return await begin_flow(session, address=address, flow=DraftFlow.edit_identity, now=now,
                            locale=guardian.locale,
                            data={"call_name": guardian.call_name, "phone": guardian.phone,
                                  "village": guardian.village})


async def complete_identity_edit(session: AsyncSession, *, draft: Draft, guardian: Guardian,
                                 now: datetime) -> Guardian:
    _expect(draft, CONFIRM)
    if draft.flow != DraftFlow.edit_identity:
        raise Conflict("not an identity draft", code="stale_step")
    data = draft.data or {}
    guardian.call_name, guardian.phone, guardian.village = data.get("call_name"), data.get("phone"), data.get("village")
    guardian.updated_at = now
    await session.delete(draft)
    await session.flush()
    return guardian


def enter_nickname(draft: Draft, *, text: str, now: datetime) -> Draft:
    _expect(draft, CHILD_NICKNAME)
    nickname = rules.clean_nickname(text)
    return _save(draft, step=CHILD_BIRTH_YEAR, now=now, child={"nickname": nickname})


def enter_birth_year(draft: Draft, *, year: int, today: date, now: datetime) -> Draft:
    _expect(draft, CHILD_BIRTH_YEAR)
    rules.check_birth_year(year, today)
    child = dict(draft.data.get("child") or {})
    child["birth_year"] = year
    return _save(draft, step=CHILD_BIRTH_MONTH, now=now, child=child)


def enter_birth_month(draft: Draft, *, month: int, today: date, now: datetime) -> Draft:
    _expect(draft, CHILD_BIRTH_MONTH)
    child = dict(draft.data.get("child") or {})
    rules.check_birth(child["birth_year"], month, today)
    child["birth_month"] = month
    return _save(draft, step=CHILD_SEX, now=now, child=child)


def choose_sex(draft: Draft, *, sex: str | None, now: datetime) -> Draft:
    _expect(draft, CHILD_SEX)
    if sex is not None:
        try:
            sex = Sex(sex).value
        except ValueError:
            raise Invalid("unknown value", field="sex") from None
    child = dict(draft.data.get("child") or {})
    child["sex"] = sex
    if draft.flow == DraftFlow.enrol:
        children = list(draft.data.get("children") or [])
        children.append(child)
        return _save(draft, step=MORE_CHILDREN, now=now, child=None, children=children)
    return _save(draft, step=CONFIRM, now=now, child=child)


def more_children(draft: Draft, *, add_another: bool, now: datetime) -> Draft:
    _expect(draft, MORE_CHILDREN)
    if add_another:
        if len(draft.data.get("children") or []) >= rules.MAX_CHILDREN:
            raise Invalid("too many children", code="too_many_children", field="children")
        return _save(draft, step=CHILD_NICKNAME, now=now)
    return _save(draft, step=CONFIRM, now=now)


def restart_children(draft: Draft, *, now: datetime) -> Draft:
    """'Something is wrong' at the summary: enter the children again (the rest is kept)."""
    _expect(draft, CONFIRM, MORE_CHILDREN)
    if draft.flow in (DraftFlow.enrol, DraftFlow.add_child, DraftFlow.edit_child):
        return _save(draft, step=CHILD_NICKNAME, now=now, children=[], child=None)
    if draft.flow == DraftFlow.edit_identity:
        return _save(draft, step=CALL_NAME, now=now)
    return _save(draft, step=RELATIONSHIP, now=now)


async def _draft_cohort_id(session: AsyncSession, draft: Draft) -> int | None:
    if draft.invitation_id is not None:
        return await session.scalar(select(Invitation.cohort_id).where(Invitation.id == draft.invitation_id))
    if draft.household_invite_id is not None:
        return await session.scalar(
            select(Household.cohort_id)
            .join(HouseholdInvite, HouseholdInvite.household_id == Household.id)
            .where(HouseholdInvite.id == draft.household_invite_id)
        )
    return None


async def draft_household_children(session: AsyncSession, *, draft: Draft) -> list[Child]:
    """The children of the household a join draft leads into (shown at its summary), else []."""
    if draft.household_invite_id is None:
        return []
    invite = await session.get(HouseholdInvite, draft.household_invite_id)
    if invite is None:
        return []
    return await list_children(session, household_id=invite.household_id)


# ---------------------------------------------------------------- completing


@dataclass
class Enrolled:
    guardian: Guardian
    household: Household
    children: list[Child] = field(default_factory=list)
    cohort: Cohort | None = None


async def find_guardian(session: AsyncSession, *, address: str) -> Guardian | None:
    return await guardian_at(session, address=address)


async def complete_enrolment(session: AsyncSession, *, draft: Draft, now: datetime) -> Enrolled:
    """Turn a confirmed enrol/join draft into a household, guardian and children, atomically."""
    _expect(draft, CONFIRM)
    if draft.flow not in (DraftFlow.enrol, DraftFlow.join):
        raise Conflict("not an enrolment", code="stale_step")
    if await find_guardian(session, address=draft.address) is not None:
        raise Conflict("this chat is already enrolled", code="already_enrolled")
    data = draft.data or {}
    for key in ("consent_version", "relationship", "lives_with_children"):
        if key not in data:
            raise Conflict(f"draft is missing {key}", code="stale_step")

    if draft.flow == DraftFlow.enrol:
        # Count the use atomically, so two guardians cannot both take an invitation's last use.
        claimed = await session.execute(
            update(Invitation)
            .where(
                Invitation.id == draft.invitation_id,
                Invitation.revoked_at.is_(None),
                (Invitation.expires_at.is_(None)) | (Invitation.expires_at > now),
                (Invitation.max_uses.is_(None)) | (Invitation.uses < Invitation.max_uses),
            )
            .values(uses=Invitation.uses + 1)
        )
        if not affected_rows(claimed):
            invitation = await session.get(Invitation, draft.invitation_id) if draft.invitation_id else None
            problem = invitation_problem(invitation, now) if invitation else "unknown"
            raise CodeRejected("invitation can no longer be used", code=problem or "unknown")
        invitation = await session.get(Invitation, draft.invitation_id)
        assert invitation is not None
        children_data = list(data.get("children") or [])
        if not children_data:
            raise Conflict("no children entered", code="stale_step")
        household = Household(cohort_id=invitation.cohort_id, invitation_id=invitation.id, created_at=now)
        session.add(household)
        await session.flush()
    else:
        claimed = await session.execute(
            update(HouseholdInvite)
            .where(
                HouseholdInvite.id == draft.household_invite_id,
                HouseholdInvite.used_at.is_(None),
                HouseholdInvite.expires_at > now,
            )
            .values(used_at=now)
        )
        if not affected_rows(claimed):
            raise CodeRejected("household invite can no longer be used", code="used_up")
        invite = await session.get(HouseholdInvite, draft.household_invite_id)
        assert invite is not None
        joined = await session.get(Household, invite.household_id)
        if joined is None:
            raise CodeRejected("household is gone", code="unknown")
        household = joined
        children_data = []
        await notices.invite_used(session, invite=invite, relationship=data["relationship"], now=now)

    guardian = Guardian(
        household_id=household.id,
        locale=pick_locale(draft.locale),
        relationship=data["relationship"],
        lives_with_children=data["lives_with_children"],
        status=GuardianStatus.active,
        consent_version=int(data["consent_version"]),
        consented_at=now,
        call_name=data.get("call_name"),
        phone=data.get("phone"),
        village=data.get("village"),
        created_at=now,
        updated_at=now,
    )
    session.add(guardian)
    await session.flush()
    # Where they enrolled from is their first endpoint (a second guardian on this address is
    # refused by the endpoints' unique key, which find_guardian above already rules out).
    await add_endpoint(session, address=draft.address, now=now, guardian_id=guardian.id, rank=0)
    for item in children_data:
        rules.check_birth(item["birth_year"], item["birth_month"], now.date())
        session.add(
            Child(
                household_id=household.id,
                nickname=item["nickname"],
                birth_year=item["birth_year"],
                birth_month=item["birth_month"],
                sex=item.get("sex"),
                created_at=now,
                updated_at=now,
            )
        )
    await session.flush()
    if data.get("flagged_text_ids"):
        # Words flagged while they were enrolling: theirs now, and the pending alert is the household's.
        await adopt_enrolment_texts(session, draft_data=data, guardian=guardian, household=household, now=now)
    await session.delete(draft)
    await session.flush()
    children = await list_children(session, household_id=household.id)
    cohort = await session.get(Cohort, household.cohort_id)
    return Enrolled(guardian=guardian, household=household, children=children, cohort=cohort)


async def complete_child_draft(
    session: AsyncSession, *, draft: Draft, guardian: Guardian, now: datetime
) -> Child:
    """Finish an add_child or edit_child draft for an enrolled guardian."""
    _expect(draft, CONFIRM)
    child_data = dict((draft.data or {}).get("child") or {})
    if not {"nickname", "birth_year", "birth_month"} <= child_data.keys():
        raise Conflict("draft is incomplete", code="stale_step")
    rules.check_birth(child_data["birth_year"], child_data["birth_month"], now.date())
    if draft.flow == DraftFlow.add_child:
        count = await session.scalar(
            select(func.count()).select_from(Child).where(Child.household_id == guardian.household_id)
        )
        if (count or 0) >= rules.MAX_CHILDREN:
            raise Invalid("too many children", code="too_many_children", field="children")
        child = Child(household_id=guardian.household_id, created_at=now, updated_at=now, **child_data)
        session.add(child)
    elif draft.flow == DraftFlow.edit_child:
        child = await get_own_child(session, guardian=guardian, child_id=int(draft.data["child_id"]))
        child.nickname = child_data["nickname"]
        child.birth_year = child_data["birth_year"]
        child.birth_month = child_data["birth_month"]
        child.sex = child_data.get("sex")
        child.updated_at = now
    else:
        raise Conflict("not a child draft", code="stale_step")
    await session.delete(draft)
    await session.flush()
    return child


# ---------------------------------------------------------------- the guardian's own data


async def list_children(session: AsyncSession, *, household_id: int) -> list[Child]:
    rows = await session.scalars(select(Child).where(Child.household_id == household_id).order_by(Child.id))
    return list(rows.all())


async def get_own_child(session: AsyncSession, *, guardian: Guardian, child_id: int) -> Child:
    child = await session.get(Child, child_id)
    if child is None or child.household_id != guardian.household_id:
        raise NotFound("child not found", field="child_id")
    return child


async def remove_own_child(session: AsyncSession, *, guardian: Guardian, child_id: int) -> None:
    child = await get_own_child(session, guardian=guardian, child_id=child_id)
    remaining = await session.scalar(
        select(func.count()).select_from(Child).where(Child.household_id == guardian.household_id)
    )
    if (remaining or 0) <= 1:
        raise Conflict("a household needs at least one child", code="last_child")
    await session.delete(child)
    await session.flush()


async def create_household_invite(
    session: AsyncSession, *, guardian: Guardian, now: datetime, days: int
) -> HouseholdInvite:
    invite = HouseholdInvite(
        household_id=guardian.household_id,
        code="h" + new_code(12),
        created_by_guardian_id=guardian.id,
        expires_at=now + timedelta(days=days),
        created_at=now,
    )
    session.add(invite)
    await session.flush()
    return invite


def set_locale(guardian: Guardian, *, locale: str, now: datetime) -> Guardian:
    if locale not in SUPPORTED_LOCALES:
        raise Invalid("unsupported language", field="locale")
    guardian.locale = locale
    guardian.updated_at = now
    return guardian


def set_paused(guardian: Guardian, *, paused: bool, now: datetime) -> Guardian:
    if guardian.status == GuardianStatus.stopped:
        raise Conflict("guardian has stopped", code="stopped")
    guardian.status = GuardianStatus.paused if paused else GuardianStatus.active
    guardian.updated_at = now
    return guardian


def set_timezone(guardian: Guardian, *, timezone: str | None, now: datetime) -> Guardian:
    """The guardian's own time zone (a parent working far away); None means the cohort's."""
    if timezone is not None:
        try:
            check_timezone(timezone)
        except ValueError:
            raise Invalid("unknown time zone", field="timezone") from None
    guardian.timezone = timezone
    guardian.updated_at = now
    return guardian


_HHMM = re.compile(r"(?:[01]\d|2[0-3]):[0-5]\d")


def set_quiet_hours(guardian: Guardian, *, start: str, end: str, now: datetime) -> Guardian:
    """Local hours when no lessons are sent ("21:30" to "08:00" may cross midnight). Stored as
    exact HH:MM strings, because guardians are grouped for planning by equal values."""
    for name, value in (("quiet_start", start), ("quiet_end", end)):
        if not isinstance(value, str) or not _HHMM.fullmatch(value):
            raise Invalid("not a time of day like 21:30", field=name)
    if start == end:
        raise Invalid("quiet hours must not be empty", field="quiet_end")
    guardian.quiet_start, guardian.quiet_end = start, end
    guardian.updated_at = now
    return guardian


def mark_reachable(guardian: Guardian, *, now: datetime) -> bool:
    """They wrote to us, so the loaded row says they are reachable again (the database is
    updated by core.endpoints.service.heard_from). Returns True when they had been unreachable."""
    if guardian.unreachable_at is None:
        return False
    guardian.unreachable_at = None
    guardian.updated_at = now
    return True


async def home_timezone(session: AsyncSession, *, guardian: Guardian) -> str:
    """The time zone of the guardian's cohort (their home village)."""
    tz = await session.scalar(
        select(Cohort.timezone).join(Household, Household.cohort_id == Cohort.id)
        .where(Household.id == guardian.household_id)
    )
    return tz or "Asia/Shanghai"


def stop_guardian(guardian: Guardian, *, now: datetime) -> Guardian:
    guardian.status = GuardianStatus.stopped
    guardian.stopped_at = now
    guardian.updated_at = now
    return guardian


def restart_guardian(guardian: Guardian, *, now: datetime) -> Guardian:
    guardian.status = GuardianStatus.active
    guardian.stopped_at = None
    guardian.updated_at = now
    return guardian


async def erase_guardian(session: AsyncSession, *, guardian: Guardian, now: datetime | None = None,
                         recordings_root: Path | None = None) -> bool:
    """Erase a guardian's personal data; the household and its children go with the last
    guardian, and the cohort's directors are told the family left (their cases stay,
    pseudonymised). Voice messages recorded on the web pages are files under `recordings_root`:
    they are deleted too (the guardian's own, and the household's with the last guardian).
    Returns True when the household was erased too."""
    household_id = guardian.household_id
    addresses = [e.address for e in await endpoints_of(session, guardian_id=guardian.id)]
    last = not await session.scalar(select(func.count()).select_from(Guardian).where(
        Guardian.household_id == household_id, Guardian.id != guardian.id))
    voices = await recordings.names_of(session, guardian_id=guardian.id,
                                       household_id=household_id if last else None)
    # Staff notes, alert evidence and the cards on staff phones lose the family's names, numbers
    # and words first (core/alerts/erasure.py says what stays and why).
    await erasure.redact(session, erasing=await erasure.gather(session, guardian=guardian, household_gone=last),
                         now=now or guardian.updated_at)
    await session.execute(delete(Draft).where(Draft.address.in_(addresses)))
    await session.execute(delete(CodeAttempt).where(CodeAttempt.address.in_(addresses)))
    await session.execute(delete(Guardian).where(Guardian.id == guardian.id))
    others = await session.scalar(
        select(func.count()).select_from(Guardian).where(Guardian.household_id == household_id)
    )
    household_gone = not others
    if household_gone:
        cohort_id = await session.scalar(select(Household.cohort_id).where(Household.id == household_id))
        case_ids = list((await session.scalars(
            select(Case.id).where(Case.household_id == household_id, Case.status == "open"))).all())
        await session.execute(delete(HouseholdInvite).where(HouseholdInvite.household_id == household_id))
        await session.execute(delete(Child).where(Child.household_id == household_id))
        await session.execute(delete(Household).where(Household.id == household_id))
        if now is not None:
            await tell_directors(session, cohort_id=cohort_id, kind=MessageKind.HOUSEHOLD_LEFT, ref=f"household:{household_id}", now=now,
                                 payload={"household_id": household_id, "case_ids": case_ids})
    elif now is not None:  # the others of the family stay: the directors hear that this one left
        cohort_id = await session.scalar(select(Household.cohort_id).where(Household.id == household_id))
        await notices.guardian_left(session, guardian=guardian, cohort_id=cohort_id, how=notices.ERASED, now=now)
    session.expunge(guardian)
    await session.flush()
    if recordings_root is not None:
        recordings.delete(recordings_root, voices)  # their rows went with the guardian (cascade)
    return household_gone


@dataclass
class GuardianData:
    """What /mydata shows: the guardian's own record and their children's basic details only."""

    guardian: Guardian
    children: list[Child]
    cohort: Cohort
    director_name: str | None


async def guardian_data(session: AsyncSession, *, guardian: Guardian) -> GuardianData:
    household = await session.get(Household, guardian.household_id)
    assert household is not None
    cohort = await session.get(Cohort, household.cohort_id)
    assert cohort is not None
    return GuardianData(
        guardian=guardian,
        children=await list_children(session, household_id=household.id),
        cohort=cohort,
        director_name=await primary_director_name(session, cohort_id=cohort.id),
    )


async def director_phone_for(session: AsyncSession, *, guardian: Guardian) -> tuple[str | None, str | None]:
    """The guardian's cohort's primary director: name, and phone when they show it to families."""
    cohort_id = await session.scalar(select(Household.cohort_id).where(Household.id == guardian.household_id))
    if cohort_id is None:
        return None, None
    return await primary_director_contact(session, cohort_id=cohort_id)
