"""A staff member's answer to the question the bot (or a console page) asked them — how they got
in touch, where they referred the child, how the alert ended, a note on a case — carried out
channel-neutrally: the open question (a StaffPrompt) and the note go in, what was done comes
out as plain data for the adapter to put into words. Never commits: the caller commits, then
sends the queued edits of the alert's cards (core.flows.delivery.alert_card_edits, deliver_now)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope
from core.alerts import cases, queries
from core.flows import cases as case_flows
from core.models import StaffPrompt


@dataclass(frozen=True)
class Done:
    """kind "note_needed": a case note without words; the question stays open."""

    kind: Literal["contact", "referral", "resolved", "note", "note_needed"]
    case_id: int | None = None
    method: str | None = None  # contact: how (visit, call …)
    to: str | None = None  # referral: to whom
    case_closed: bool = False  # resolved: the case closed with it (else it has other alerts)
    followup_due: datetime | None = None  # resolved and closed: when the follow-up goes, in the cohort's zone
    alert_id: int | None = None  # whose cards now show something new


async def carry_out(session: AsyncSession, *, scope: Scope, prompt: StaffPrompt, note: str | None,
                    now: datetime, cards: bool = True) -> Done:
    """Do what the prompt was for, with the note (or none); the prompt is answered and gone.
    cards: the edits of the alert's cards are queued (lane 0) for the caller to send at once."""
    data = prompt.data or {}
    done: Done
    if prompt.kind == "contact":
        event = await cases.log_contact(session, scope=scope, method=data["method"], note=note, now=now,
                                        alert_id=prompt.alert_id, case_id=prompt.case_id,
                                        household_id=prompt.household_id, cards=cards)
        done = Done("contact", case_id=event.case_id, method=data["method"], alert_id=prompt.alert_id)
    elif prompt.kind == "referral":
        event = await cases.refer(session, scope=scope, to=data["to"], note=note, now=now, alert_id=prompt.alert_id,
                                  case_id=prompt.case_id, cards=cards)
        done = Done("referral", case_id=event.case_id, to=data["to"], alert_id=prompt.alert_id)
    elif prompt.kind == "resolve":
        assert prompt.alert_id is not None
        result = await case_flows.resolve_alert(session, scope=scope, alert_id=prompt.alert_id,
                                                outcome=data["outcome"], note=note, now=now, cards=cards)
        due = None
        if result.case_closed and result.case is not None and result.followups:
            tz = ZoneInfo(await queries.cohort_timezone(session, result.case.cohort_id))
            due = result.followups[0].due_at.astimezone(tz)
        done = Done("resolved", case_id=result.case.id if result.case else None,
                    case_closed=result.case_closed and result.case is not None, followup_due=due,
                    alert_id=prompt.alert_id)
    else:
        assert prompt.case_id is not None
        if not note:
            return Done("note_needed", case_id=prompt.case_id)
        await cases.add_note(session, scope=scope, case_id=prompt.case_id, text=note, now=now)
        done = Done("note", case_id=prompt.case_id)
    await session.execute(delete(StaffPrompt).where(StaffPrompt.id == prompt.id))
    return done
