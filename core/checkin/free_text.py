"""Words a guardian types: the optional closing note of a check-in ("anything you want the child
director to know?"), and any other message. Everything is scanned with the risk lexicon; a red or
orange hit becomes an alert of that severity at once (for red the caller sends the safety message;
for orange it tells the guardian the child director will read it today). Notes and flagged
messages are kept for the child director; any other message is answered and not stored here."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts import raising
from core.alerts.raising import LEXICON_SOURCE, AlertSubject
from core.checkin.risk import RiskScanner, ScanResult
from core.checkin.service import COMPLETED, alert_subject
from core.errors import Conflict, NotFound
from core.models import Alert, CheckIn, Child, Cohort, FreeText, Guardian, Household

NOTE_WINDOW = timedelta(days=1)  # after this, a message is a message again, not the note
NOTE_MAX = 1000  # characters kept of a note (Telegram allows 4096; a note is a few lines)
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
        locale = cohort.default_locale if cohort else "zh-Hans"
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

