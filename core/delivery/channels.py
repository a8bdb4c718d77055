"""The sender speaks to one Messenger; a process may hold an adapter per channel (chat apps, SMS,
later WeChat). ByChannel hands each row to the adapter of its address's channel."""
from __future__ import annotations

from core.ports import Messenger, Outgoing, SendOutcome


class ByChannel:
    """A Messenger over several: {"telegram": …, "sms": …}. A channel with no adapter in this
    process is a transient failure, not a refusal: the row waits for a process that has one
    (or, on lane 0, moves on to the person's next endpoint at once)."""

    def __init__(self, messengers: dict[str, Messenger]) -> None:
        self.messengers = dict(messengers)

    async def deliver(self, item: Outgoing) -> SendOutcome:
        messenger = self.messengers.get(item.channel)
        if messenger is None:
            return SendOutcome(status="transient", error=f"no adapter for channel {item.channel}")
        return await messenger.deliver(item)
