"""The safety message a guardian gets at once after a red answer or a red risk word: the
versioned text from content/texts/safety.yaml, the cohort's own local help lines and its child
director's name. An outbox row reserved for the caller, who delivers it at once through the
channel's Messenger (lane 0, outside quiet hours; core.delivery.sender.deliver_now): a failed
send stays in the outbox and the sender retries it."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.content.texts import current_text
from core.delivery.outbox import LANE_URGENT, send_now
from core.endpoints.service import first_address
from core.messages import MessageKind
from core.staff.directors import primary_director_contact
from core.locales import localized
from core.models import Cohort, Delivery, Guardian



@dataclass(frozen=True)
class SafetyMessage:
    """Everything needed to render the message (and to render it again on a retry)."""

    version: int
    body: str  # the text in the guardian's language, with {lines} still in it
    director: str | None  # the cohort's primary child director's name, if there is one
    lines: list[tuple[str, str]]  # the cohort's local lines: (number, label in the guardian's language)
    director_phone: str | None = None  # only when that director chose to show it to families

    def as_payload(self) -> dict[str, Any]:
        return {"version": self.version, "body": self.body, "director": self.director,
                "director_phone": self.director_phone, "lines": [list(line) for line in self.lines]}

    @classmethod
    def from_payload(cls, data: dict[str, Any]) -> SafetyMessage:
        return cls(version=data["version"], body=data["body"], director=data.get("director"),
                   lines=[(n, label) for n, label in data.get("lines", [])],
                   director_phone=data.get("director_phone"))


async def safety_message(session: AsyncSession, *, cohort_id: int, locale: str) -> SafetyMessage:
    doc = await current_text(session, kind="safety")
    if doc is None:
        raise RuntimeError("no safety text is loaded: run `shouwang content load`")
    cohort = await session.get(Cohort, cohort_id)
    lines = []
    for line in (cohort.safety_lines if cohort else []) or []:
        labels = line.get("labels") or {}
        lines.append((str(line["number"]), localized(labels, locale, default="")))
    director, phone = await primary_director_contact(session, cohort_id=cohort_id)
    return SafetyMessage(version=doc.version, body=localized(doc.texts, locale, default=""),
                         director=director, lines=lines, director_phone=phone)


async def reserve_safety_message(session: AsyncSession, *, guardian: Guardian, cohort_id: int, ref: str,
                                 now: datetime) -> tuple[Delivery, SafetyMessage] | None:
    """The outbox row for one safety message (once per guardian and occasion, e.g. ref
    "checkin:12:safety" or "text:5"), born 'sending' so the caller sends it now. None when it
    was already sent for this occasion."""
    address = await first_address(session, guardian_id=guardian.id)
    if address is None:
        return None  # no endpoint left: they hear it when they write again (the sender would cancel it)
    return await reserve_safety_for_address(session, address=address, locale=guardian.locale,
                                            guardian_id=guardian.id, cohort_id=cohort_id, ref=ref, now=now)


async def reserve_safety_for_address(session: AsyncSession, *, address: str, locale: str, guardian_id: int | None,
                                  cohort_id: int, ref: str, now: datetime) -> tuple[Delivery, SafetyMessage] | None:
    """The same for someone who is not enrolled yet (a risk word typed during enrolment)."""
    message = await safety_message(session, cohort_id=cohort_id, locale=locale)
    delivery = await send_now(session, address=address, kind=MessageKind.SAFETY, ref=ref, cycle="1",
                              lane=LANE_URGENT, now=now, guardian_id=guardian_id, cohort_id=cohort_id,
                              payload={"safety": message.as_payload(), "locale": locale})
    return None if delivery is None else (delivery, message)
