"""A second channel adapter, in memory, for tests: channel "test", addresses "test:<id>".

It implements core's Messenger port (core.ports) with capabilities unlike Telegram's — it cannot
edit a message already sent, has no buttons, carries at most 1,000 characters a message and no
media, and, like WeChat's customer-service messages, may only write to a person within 48 hours
of the last time they wrote. A row to someone silent for longer is refused with `window_closed`
(the sender then moves it to the person's next endpoint). The test tells it when the person
writes (`heard`), as a provider would learn it from an inbound message.

It renders every message kind as plain text: no HTML, no keyboards — a question's choices are
numbered for the person to type back. What it carried and what it refused are kept in order for
the test to read."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from core.clock import Clock
from core.locales import localized
from core.ports import Capabilities, Outgoing, SendOutcome

CHANNEL = "test"
REPLY_WINDOW = timedelta(hours=48)
MAX_TEXT = 1000
CAPABILITIES = Capabilities(can_edit=False, buttons=False, max_text=MAX_TEXT, media=frozenset(),
                            reply_window=REPLY_WINDOW, unsupported=frozenset())

_BOLD = re.compile(r"\*\*(.+?)\*\*", re.DOTALL)


def address(local_id: str | int) -> str:
    return f"{CHANNEL}:{local_id}"


@dataclass(frozen=True)
class Carried:
    """One message as it reached the person: the outbox row and the text parts shown."""

    item: Outgoing
    parts: tuple[str, ...]
    message_id: str
    at: datetime

    @property
    def kind(self) -> str:
        return self.item.kind

    @property
    def content(self) -> dict[str, Any]:
        return self.item.content

    @property
    def text(self) -> str:
        return "".join(self.parts)


@dataclass(frozen=True)
class Refusal:
    item: Outgoing
    status: str
    at: datetime


def _plain(text: str | None) -> str:
    """Lesson authors' **bold** has no place on a plain-text channel: the words stay, the marks go."""
    return _BOLD.sub(r"\1", (text or "").strip())


def _choices(question: dict[str, Any]) -> str:
    return "\n".join(f"{number}. {label}" for number, (_value, label) in enumerate(question["choices"], start=1))


def render(item: Outgoing) -> str:
    """The whole message as plain text, in the row's language as core resolved it."""
    c = item.content
    kind = item.kind
    if kind == "lesson":
        return "\n\n".join(p for p in (_plain(c.get("title")), _plain(c.get("body")), _plain(c.get("try_today"))) if p)
    if kind == "campaign":
        return _plain(localized(c.get("texts") or {}, item.locale, default=""))
    if kind == "lesson_followup":
        return f"“{_plain(c.get('title'))}”: did you try it? Reply 1 (yes), 2 (not yet) or 3 (it did not suit us)."
    if kind in ("checkin", "checkin_reminder"):
        head = [c.get("title") or "", c.get("intro") or ""] if not c.get("answered") else [c.get("title") or ""]
        question = c.get("question")
        if question is None:
            return "\n\n".join(p for p in head if p)
        ask = f"{question['number']}/{question['total']} {question['text']}\n{_choices(question)}"
        return "\n\n".join(p for p in (*head, ask, "Reply with the number of your answer.") if p)
    if kind == "safety":
        safety = c["safety"]
        lines = [f"• {number} {label}".rstrip() for number, label in safety.get("lines") or []]
        if safety.get("director"):
            lines.append(f"• {safety['director']}" + (f" {safety['director_phone']}" if safety.get("director_phone")
                                                     else ""))
        return safety["body"].replace("{lines}", "\n".join(lines))
    # Any other kind (a relay from the director, a notice …): its plain fields, never markup.
    fields = [f"{key}: {value}" for key, value in sorted(c.items())
              if isinstance(value, (str, int)) and not isinstance(value, bool) and key != "locale"]
    return "\n".join([f"[{kind}]", *fields])


def split(text: str, limit: int) -> tuple[str, ...]:
    """A text longer than the channel carries goes as several messages, nothing cut off."""
    return tuple(text[i:i + limit] for i in range(0, len(text), limit)) or ("",)


class TestChannel:
    """core.ports.Messenger for channel "test" (see the module's docstring)."""

    __test__ = False  # not a test class, whatever its name
    channel = CHANNEL
    capabilities = CAPABILITIES

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.carried: list[Carried] = []
        self.refused: list[Refusal] = []
        self.last_inbound: dict[str, datetime] = {}
        self._next_id = 0

    def heard(self, address: str, at: datetime | None = None) -> None:
        """The person at `address` wrote to us: the reply window opens again."""
        self.last_inbound[address] = at or self.clock()

    def window_open(self, address: str) -> bool:
        last = self.last_inbound.get(address)
        return last is not None and self.clock() - last <= REPLY_WINDOW

    async def deliver(self, item: Outgoing) -> SendOutcome:
        if item.channel != CHANNEL:
            return SendOutcome(status="permanent", error=f"not a {CHANNEL} address")
        now = self.clock()
        if not self.window_open(item.address):
            self.refused.append(Refusal(item, "window_closed", now))
            return SendOutcome(status="window_closed", error="reply window closed")
        self._next_id += 1
        message_id = f"{CHANNEL}-{self._next_id}"
        self.carried.append(Carried(item, split(render(item), MAX_TEXT), message_id, now))
        return SendOutcome(status="sent", message_id=message_id)

    # ------------------------------------------------------------ for the test to read

    def to(self, address: str) -> list[Carried]:
        return [c for c in self.carried if c.item.address == address]

    def kinds(self, address: str) -> list[str]:
        return [c.kind for c in self.to(address)]

    def last(self, address: str, kind: str | None = None) -> Carried:
        found = [c for c in self.to(address) if kind is None or c.kind == kind]
        assert found, f"nothing{' of kind ' + kind if kind else ''} was carried to {address}"
        return found[-1]
