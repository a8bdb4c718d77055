"""Words a guardian types: the optional closing note of a check-in ("anything you want the child
director to know?"), and any other message. Everything is scanned with the risk lexicon; a red or
orange hit becomes an alert of that severity at once (for red the caller sends the safety message;
for orange it tells the guardian the child director will read it today). Notes and flagged
messages are kept for the child director; any other message is answered and not stored here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts import raising
from core.alerts.erasure import edit_cards
from core.alerts.raising import LEXICON_SOURCE, AlertSubject
from core.checkin.risk import RiskScanner, ScanResult
from core.checkin.service import COMPLETED, alert_subject
from core.errors import Conflict, NotFound
from core.locales import pick_locale
from core.models import (
    Alert,
    Case,
    CaseEvent,
    CheckIn,
    Child,
    Cohort,
    Draft,
    FreeText,
    Guardian,
    Household,
    HouseholdInvite,
    Invitation,
)

NOTE_WINDOW = timedelta(days=1)  # after this, a message is a message again, not the note
NOTE_MAX = 1000  # characters kept of a note (chat apps allow thousands; a note is a few lines)
NOTE_ASKED, NOTE_GIVEN, NOTE_SKIPPED = "asked", "given", "skipped"
RISK_RULE = "risk_words"


@dataclass
class TextResult:
    scan: ScanResult
    note_for: CheckIn | None  # the check-in this text was the closing note of
    stored: FreeText | None
    alert: Alert | None

    @property
    def hit(self) -> bool:
        return self.scan.hit

    @property
    def tier(self) -> str | None:  # "red", "orange" or None
        return self.scan.tier


def ask_for_note(checkin: CheckIn) -> None:
    """After the last answer: the guardian who answered may add a note for the director."""
    if checkin.note_state is None:
        checkin.note_state = NOTE_ASKED


async def pending_note(session: AsyncSession, *, guardian_id: int, now: datetime) -> CheckIn | None:
    """The check-in whose closing note this guardian's next words are, if they were just asked."""
    return await session.scalar(
        select(CheckIn)
        .where(CheckIn.claimed_by_guardian_id == guardian_id, CheckIn.state == COMPLETED,
               CheckIn.note_state == NOTE_ASKED, CheckIn.completed_at >= now - NOTE_WINDOW)
        .order_by(CheckIn.completed_at.desc(), CheckIn.id.desc())
        .limit(1)
    )


async def skip_note(session: AsyncSession, *, checkin_id: int, guardian_id: int) -> None:
    checkin = await session.get(CheckIn, checkin_id)
    if checkin is None or checkin.claimed_by_guardian_id != guardian_id:
        raise NotFound("check-in not found")
    if checkin.note_state != NOTE_ASKED:
        raise Conflict("the note was already given or skipped", code="note_closed")
    checkin.note_state = NOTE_SKIPPED
    await session.flush()


async def subject_child(session: AsyncSession, *, household_id: int, text: str) -> int | None:
    """The child a message is about, when it can be told: the only child of the household, or
    the one child whose nickname the words name. None: the household has no child, or several
    and the words name none (or more than one) of them."""
    children = list((await session.scalars(select(Child).where(Child.household_id == household_id)
                                           .order_by(Child.id))).all())
    if len(children) == 1:
        return children[0].id
    named = [c for c in children if c.nickname and c.nickname in text]
    return named[0].id if len(named) == 1 else None


def child_subject(household: Household, child_id: int) -> AlertSubject:
    return AlertSubject(subject_key=f"child:{child_id}", cohort_id=household.cohort_id, household_id=household.id,
                        child_id=child_id)


async def receive_text(session: AsyncSession, *, guardian: Guardian, text: str, scanner: RiskScanner,
                       now: datetime, child_id: int | None = None) -> TextResult:
    """Scan and, where it is a note or a risk, keep the text; a hit raises (or adds to) an
    alert for the cohort's director, joining the child's case (一人一案): the check-in's child
    for a note, else `child_id` when the caller knows it, else the household's only child or the
    one child the words name; only when none can be told is it about the household (the
    caller may ask the guardian and re-file it)."""
    scan = scanner.scan(text)
    note_for = await pending_note(session, guardian_id=guardian.id, now=now)
    household = await session.get(Household, guardian.household_id)
    assert household is not None
    stored = None
    if note_for is not None or scan.hit:
        stored = FreeText(
            household_id=household.id, guardian_id=guardian.id, cohort_id=household.cohort_id,
            check_in_id=note_for.id if note_for else None, child_id=note_for.child_id if note_for else None,
            kind="note" if note_for else "message", text=text[:NOTE_MAX], hit=scan.hit, severity=scan.severity,
            categories=scan.categories, terms=scan.terms, received_at=now,
        )
        session.add(stored)
        if note_for is not None:
            note_for.note_state = NOTE_GIVEN
        await session.flush()
    alert = None
    if scan.hit and stored is not None:
        if child_id is None and note_for is None:
            child_id = await subject_child(session, household_id=household.id, text=text)
        if note_for is not None and note_for.child_id is not None:
            subject = alert_subject(note_for)
        elif child_id is not None:
            subject = child_subject(household, child_id)
            stored.child_id = child_id
        else:
            subject = AlertSubject(subject_key=f"household:{household.id}", cohort_id=household.cohort_id,
                                   household_id=household.id)
        cohort = await session.get(Cohort, household.cohort_id)
        locale = pick_locale(cohort.default_locale if cohort else None)
        assert scan.tier is not None
        raised = await raising.raise_alert(
            session, subject=subject, source=LEXICON_SOURCE, source_version=scanner.lexicon.version, rule_id=RISK_RULE,
            severity=scan.tier, audience="child", reason=scanner.lexicon.reason(scan.tier, locale),
            evidence={"tier": scan.tier, "category": scan.category, "categories": scan.categories,
                      "terms": scan.terms, "rules": list(dict.fromkeys(h.rule for h in scan.hits)),
                      "kind": stored.kind, "free_text_id": stored.id, "written_by_guardian_id": guardian.id},
            seen=("free_text_ids", stored.id), check_in_id=note_for.id if note_for else None, now=now,
        )
        alert = raised.alert
    return TextResult(scan=scan, note_for=note_for, stored=stored, alert=alert)



# ---------------------------------------------------------------- words typed during a flow

PENDING_PREFIX = "pending:"  # subject of an alert about someone still enrolling: "pending:<free text id>"


@dataclass
class DraftTextResult:
    scan: ScanResult
    stored: FreeText | None
    alert: Alert | None
    cohort_id: int | None  # whose safety lines and director the safety message names

    @property
    def hit(self) -> bool:
        return self.scan.hit


async def receive_draft_text(session: AsyncSession, *, draft: Draft, guardian: Guardian | None, text: str,
                             scanner: RiskScanner, now: datetime) -> DraftTextResult:
    """Every word typed in a flow (enrolment, joining, a child's nickname, what to call them) is
    scanned before it is taken as an answer. A hit is never taken as an answer: the words are kept
    and raise (or join) an alert for the cohort's directors at once, and the caller sends the
    safety message.

    Who the alert is about: an enrolled guardian's household; a guardian joining a household
    through its invite, that household; someone enrolling through a cohort invitation has no
    household yet, so the alert is about a *pending* household of that cohort (subject
    "pending:<id of the first flagged text>", kept in the draft so later hits join it). It is
    announced at once like any alert — a red one never waits for the enrolment to finish — and
    shows what they have told us so far (what to call them, phone, village) so the director can
    reach them. When enrolment completes, `adopt_enrolment_texts` moves it to the new household."""
    scan = scanner.scan(text)
    cohort_id = await _flow_cohort_id(session, draft=draft, guardian=guardian)
    if not scan.hit or cohort_id is None:
        return DraftTextResult(scan=scan, stored=None, alert=None, cohort_id=cohort_id)
    household_id = guardian.household_id if guardian is not None else await _joining_household(session, draft)
    data = dict(draft.data or {})
    stored = FreeText(household_id=household_id, guardian_id=guardian.id if guardian else None, cohort_id=cohort_id,
                      kind="message" if guardian is not None else "enrolment", text=text[:NOTE_MAX], hit=True,
                      severity=scan.severity, categories=scan.categories, terms=scan.terms, received_at=now)
    session.add(stored)
    await session.flush()
    if household_id is not None:
        subject = AlertSubject(subject_key=f"household:{household_id}", cohort_id=cohort_id, household_id=household_id)
    else:
        key = data.get("pending_subject") or f"{PENDING_PREFIX}{stored.id}"
        subject = AlertSubject(subject_key=key, cohort_id=cohort_id, household_id=None)
        data["pending_subject"] = key
    if guardian is None:
        data["flagged_text_ids"] = [*(data.get("flagged_text_ids") or []), stored.id]
        draft.data = data  # reassign so the JSON column is marked dirty
    cohort = await session.get(Cohort, cohort_id)
    locale = pick_locale(cohort.default_locale if cohort else None)
    assert scan.tier is not None
    evidence: dict = {"tier": scan.tier, "category": scan.category, "categories": scan.categories,
                      "terms": scan.terms, "rules": list(dict.fromkeys(h.rule for h in scan.hits)),
                      "kind": stored.kind, "free_text_id": stored.id, "step": draft.step}
    if guardian is not None:
        evidence["written_by_guardian_id"] = guardian.id
    else:
        evidence["draft_id"] = draft.id
    raised = await raising.raise_alert(
        session, subject=subject, source=LEXICON_SOURCE, source_version=scanner.lexicon.version, rule_id=RISK_RULE,
        severity=scan.tier, audience="child", reason=scanner.lexicon.reason(scan.tier, locale),
        evidence=evidence, seen=("free_text_ids", stored.id), check_in_id=None, now=now,
    )
    return DraftTextResult(scan=scan, stored=stored, alert=raised.alert, cohort_id=cohort_id)


async def _flow_cohort_id(session: AsyncSession, *, draft: Draft, guardian: Guardian | None) -> int | None:
    if guardian is not None:
        return await session.scalar(select(Household.cohort_id).where(Household.id == guardian.household_id))
    if draft.invitation_id is not None:
        return await session.scalar(select(Invitation.cohort_id).where(Invitation.id == draft.invitation_id))
    household_id = await _joining_household(session, draft)
    if household_id is None:
        return None
    return await session.scalar(select(Household.cohort_id).where(Household.id == household_id))


async def _joining_household(session: AsyncSession, draft: Draft) -> int | None:
    if draft.household_invite_id is None:
        return None
    return await session.scalar(select(HouseholdInvite.household_id).where(HouseholdInvite.id == draft.household_invite_id))


async def adopt_enrolment_texts(session: AsyncSession, *, draft_data: dict, guardian: Guardian, household: Household,
                                now: datetime) -> None:
    """Enrolment finished: the words flagged on the way are this guardian's, and the pending
    alert and its case become the new household's (the card, rendered at send time, then names
    the family like any other)."""
    ids = [int(i) for i in draft_data.get("flagged_text_ids") or []]
    for text in (await session.scalars(select(FreeText).where(FreeText.id.in_(ids)))).all():
        text.household_id, text.guardian_id = household.id, guardian.id
    key = draft_data.get("pending_subject")
    if not key:
        return
    new_key = f"household:{household.id}"
    for alert in (await session.scalars(select(Alert).where(Alert.subject_key == key))).all():
        evidence = {k: v for k, v in (alert.evidence or {}).items() if k != "draft_id"}
        evidence["written_by_guardian_id"] = guardian.id
        alert.evidence = evidence
        alert.subject_key, alert.household_id = new_key, household.id
        # The directors' cards said "a family that has not finished joining": now they name it.
        await edit_cards(session, alert=alert, cycle="enrolled", now=now)
    for case in (await session.scalars(select(Case).where(Case.subject_key == key))).all():
        case.subject_key, case.household_id = new_key, household.id
    await session.execute(update(CaseEvent).where(CaseEvent.case_id.in_(
        select(Case.id).where(Case.subject_key == new_key, Case.household_id == household.id)),
        CaseEvent.household_id.is_(None)).values(household_id=household.id))
    await session.flush()
