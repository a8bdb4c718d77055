"""Protocols for the outside world. core speaks these; the channel adapters implement them."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal, Protocol

from core.messages import MessageKind

# blocked: the person refused us on this endpoint (a chat app's 403); window_closed: the channel
# only allows replies within a window after the person last wrote, and it has closed;
# quota_exhausted: the provider's quota for this endpoint or account ran out. All three move the
# delivery to the person's next endpoint (core.delivery.sender) instead of retrying this one.
# unsupported: this channel cannot carry the message's kind (Capabilities.unsupported); the sender
# says it itself without asking the adapter, and moves the row on without closing the endpoint.
SendStatus = Literal["sent", "rate_limited", "blocked", "window_closed", "quota_exhausted", "transient", "permanent",
                     "unsupported"]


@dataclass(frozen=True)
class Outgoing:
    """One outbox row ready to render: the adapter of the address's channel turns it into its
    provider's calls in `locale`."""

    delivery_id: int
    address: str  # "<channel>:<id>", e.g. "sms:+8613800000000" (core.models.endpoint)
    kind: MessageKind  # the stored string, as its member (core.messages)
    locale: str
    content: dict[str, Any] = field(default_factory=dict)
    lane: int = 2  # 0 safety/alerts, 1 check-ins, 2 lessons/campaigns
    # Paid broadcast (a provider's paid bulk mode, up to 1,000 msg/s for a fee): only ever set
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
    """What a channel can carry. The sender reads them (core.delivery.sender): a kind declared
    unsupported never goes to that channel, and where it cannot edit an edit becomes a new
    message or is settled. An adapter must render every kind it does not declare unsupported
    (tests/core/test_message_kinds.py)."""

    can_edit: bool  # may change a message already sent (a card redrawn)
    buttons: bool  # inline choices under a message
    # characters in one message; None: no limit worth knowing. The adapter shortens or splits a
    # longer text itself (the sender does not cut messages).
    max_text: int | None
    media: frozenset[str]  # "image", "voice", "audio" …
    reply_window: timedelta | None  # may only write this long after the person last wrote; None: any time
    unsupported: frozenset[MessageKind]  # kinds it declares it cannot carry


class Messenger(Protocol):
    @property
    def capabilities(self) -> Capabilities: ...  # a plain attribute on most adapters

    async def deliver(self, item: Outgoing) -> SendOutcome: ...
