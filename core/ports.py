"""Protocols for the outside world. core speaks these; the bot adapter implements them."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

SendStatus = Literal["sent", "rate_limited", "blocked", "transient", "permanent"]


@dataclass(frozen=True)
class Outgoing:
    """One outbox row ready to render: the adapter turns it into Bot API calls in `locale`."""

    delivery_id: int
    chat_id: int
    kind: str  # lesson | campaign | lesson_followup | …
    locale: str
    content: dict[str, Any] = field(default_factory=dict)
    lane: int = 2  # 0 safety/alerts, 1 check-ins, 2 lessons/campaigns
    # Paid broadcast (Telegram's allow_paid_broadcast: up to 1,000 msg/s for a fee): only ever set
    # on bulk lanes 1–2 when the operator switched it on; alerts and replies never pay.
    paid_broadcast: bool = False


@dataclass(frozen=True)
class SendOutcome:
    status: SendStatus
    message_id: int | None = None
    retry_after: float | None = None  # seconds, for rate_limited
    error: str | None = None  # a short reason, never message content


class Messenger(Protocol):
    async def deliver(self, item: Outgoing) -> SendOutcome: ...
