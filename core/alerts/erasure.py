"""Erasure that erases (issue #16.5). When a guardian says /delete, what the child director's
record keeps about their family is redacted in the same transaction:

- staff notes on the family's cases and visits: when the household goes (its last guardian
  left), every note is replaced by a marker — a note is free text about a family and may name
  anyone; while other guardians stay, the leaving guardian's own name, phone numbers and home
  are replaced by the marker inside the notes;
- alert evidence: the guardian's words and the lexicon terms matched in them (the exact words
  typed), and every id that pointed at a person are dropped; what stays are the structured facts
  of the pseudonymised case — severity, rule, the chosen answer of each item (an item id and a
  choice number, e.g. safety: 2 "someone hurt the child"), scores against their cut-offs, the risk
  categories, how often and when;
- the cards already on staff phones are edited (outbox lane 0, the same `alert_update` rows that
  show "acknowledged by …") to the redacted form: rendered at send time from the database, after
  the erasure, they carry no name, number, place or words;
- outbox rows that carried the person's chat and no guardian id (a safety message sent while they
  were still enrolling) go too.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts.queries import alert_messages
from core.delivery.outbox import LANE_URGENT, enqueue
from core.endpoints.service import endpoints_of
from core.messages import MessageKind
from core.people import display_phone
from core.models import Alert, Case, CaseEvent, Child, Delivery, FreeText, Guardian

REDACTED = "[…]"  # the marker where a name, a number, a place or someone's words were
# Evidence keys that hold what a person said or point at a person; everything else is structure.
_PERSONAL_KEYS = {"terms", "written_by_guardian_id", "free_text_id", "draft_id", "step"}
_PHONE_LIKE = re.compile(r"(?:\+?\d[\d\s\-]{5,}\d)")


@dataclass
class Erasing:
    """What to look for, gathered before the rows go."""

    household_id: int
    household_gone: bool
    guardian_id: int
    addresses: list[str]  # every endpoint of the guardian
    identifiers: list[str]  # names, numbers and places to replace inside notes
    alert_ids: list[int]


async def gather(session: AsyncSession, *, guardian: Guardian, household_gone: bool) -> Erasing:
    people = [guardian]
    if household_gone:
        people = list((await session.scalars(select(Guardian).where(Guardian.household_id == guardian.household_id)))
                      .all()) or [guardian]
    found: list[str] = []
    for g in people:
        found += [g.call_name or "", g.village or "", g.phone or "", display_phone(g.phone) or ""]
    if household_gone:
        found += list((await session.scalars(select(Child.nickname).where(Child.household_id == guardian.household_id)))
                      .all())
    identifiers = sorted({i for i in found if i and len(i) >= 2}, key=len, reverse=True)
    alert_ids = list((await session.scalars(select(Alert.id).where(or_(
        Alert.household_id == guardian.household_id,
        Alert.guardian_id == guardian.id)))).all())
    return Erasing(household_id=guardian.household_id, household_gone=household_gone, guardian_id=guardian.id,
                   addresses=[e.address for e in await endpoints_of(session, guardian_id=guardian.id)],
                   identifiers=identifiers, alert_ids=alert_ids)


def scrub(text: str, identifiers: list[str]) -> str:
    """The note with each known identifier and anything that looks like a phone number replaced."""
    for ident in identifiers:
        text = text.replace(ident, REDACTED)
    return _PHONE_LIKE.sub(REDACTED, text)


def clean_evidence(evidence: dict[str, Any], *, guardian_id: int | None) -> dict[str, Any]:
    """Evidence without words, answers or pointers to people. `guardian_id` None: everything
    personal goes (the household left); else only what came from that guardian."""
    out: dict[str, Any] = {}
    mine = guardian_id is None or evidence.get("written_by_guardian_id") == guardian_id
    for key, value in evidence.items():
        if key == "first" and isinstance(value, dict):
            out[key] = clean_evidence(value, guardian_id=guardian_id)
        elif key in _PERSONAL_KEYS and mine:
            continue
        elif key == "free_text_ids" and mine:
            out[key] = []  # the words are gone; the count of occurrences stays on the alert
        else:
            out[key] = value
    if mine and "terms" in evidence:
        out["redacted"] = True
    return out


async def redact(session: AsyncSession, *, erasing: Erasing, now: datetime) -> None:
    """Run inside erase_guardian, before the guardian's (and household's) rows are deleted."""
    household_case_ids = select(Case.id).where(Case.household_id == erasing.household_id)
    events = (await session.scalars(select(CaseEvent).where(
        or_(CaseEvent.household_id == erasing.household_id, CaseEvent.case_id.in_(household_case_ids)),
        CaseEvent.note.is_not(None)))).all()
    for event in events:
        assert event.note is not None
        event.note = REDACTED if erasing.household_gone else scrub(event.note, erasing.identifiers)
    alerts = (await session.scalars(select(Alert).where(Alert.id.in_(erasing.alert_ids)))).all()
    for alert in alerts:
        everything = erasing.household_gone or alert.guardian_id == erasing.guardian_id  # their own wellbeing
        alert.evidence = clean_evidence(alert.evidence or {}, guardian_id=None if everything else erasing.guardian_id)
    # Words they typed while enrolling that no household took (a draft abandoned, then /delete
    # from a later enrolment of the same chat) cannot be found by chat: they carry none. Their
    # own kept words go with the guardian row (ON DELETE CASCADE).
    await session.execute(delete(FreeText).where(FreeText.guardian_id == erasing.guardian_id))
    await session.execute(delete(Delivery).where(Delivery.address.in_(erasing.addresses), Delivery.guardian_id.is_(None),
                                                 Delivery.staff_id.is_(None)))
    await session.flush()
    for alert in alerts:
        await edit_cards(session, alert=alert, cycle=f"erased-{erasing.guardian_id}", now=now)


async def edit_cards(session: AsyncSession, *, alert: Alert, cycle: str, now: datetime) -> None:
    """Redraw every card of this alert already on a staff phone (an `alert_update` row per
    message, rendered at send time); `cycle` names the occasion, so each redraws once."""
    for address, message_id, _locale, level, staff_id in await alert_messages(session, alert_id=alert.id):
        await enqueue(session, address=address, kind=MessageKind.ALERT_UPDATE, ref=f"alert:{alert.id}:{message_id}",
                      cycle=cycle, lane=LANE_URGENT, due_at=now, now=now, cohort_id=alert.cohort_id,
                      staff_id=staff_id, payload={"alert_id": alert.id, "message_id": message_id, "level": level})
