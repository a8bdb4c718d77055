"""Protocols for the outside world. core speaks these; the channel adapters implement them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, Protocol

# blocked: the person refused us on this endpoint (Telegram's 403); window_closed: the channel
# only allows replies within a window after the person last wrote, and it has closed;
# quota_exhausted: the provider's quota for this endpoint or account ran out. All three move the
# delivery to the person's next endpoint (core.delivery.sender) instead of retrying this one.
SendStatus = Literal["sent", "rate_limited", "blocked", "window_closed", "quota_exhausted", "transient", "permanent"]


@dataclass(frozen=True)
class Outgoing:
    """One outbox row ready to render: the adapter of the address's channel turns it into its
    provider's calls in `locale`."""

    delivery_id: int
    address: str  # "<channel>:<id>", e.g. "telegram:123456789" (core.models.endpoint)
    kind: str  # lesson | campaign | lesson_followup | …
    locale: str
    content: dict[str, Any] = field(default_factory=dict)
    lane: int = 2  # 0 safety/alerts, 1 check-ins, 2 lessons/campaigns
    # Paid broadcast (Telegram's allow_paid_broadcast: up to 1,000 msg/s for a fee): only ever set
    # on bulk lanes 1–2 when the operator switched it on; alerts and replies never pay.
    paid_broadcast: bool = False

    @property
    def channel(self) -> str:
        return self.address.partition(":")[0]


@dataclass(frozen=True)
class SendOutcome:
    status: SendStatus
    message_id: str | None = None  # the provider's id of what was sent, as text
    retry_after: float | None = None  # seconds, for rate_limited
    error: str | None = None  # a short reason, never message content


@dataclass(frozen=True)
class Capabilities:
    """What a channel can carry: edits of a message already sent, answer buttons, the longest
    text, media kinds ("image", "voice" …), a reply window (the channel only lets us write
    within this long after the person last wrote; None: no window) and the message kinds it
    declares it cannot carry at all."""

    can_edit: bool = False
    buttons: bool = False
    max_text: int | None = None
    media: frozenset[str] = frozenset()
    reply_window: timedelta | None = None
    unsupported: frozenset[str] = frozenset()


class Messenger(Protocol):
    async def deliver(self, item: Outgoing) -> SendOutcome: ...
