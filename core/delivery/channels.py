"""The sender speaks to one Messenger; a process may hold an adapter per channel (chat apps, SMS,
later WeChat). ByChannel hands each row to the adapter of its address's channel."""
from __future__ import annotations

from core.ports import Capabilities, Messenger, Outgoing, SendOutcome


class ByChannel:
    """A Messenger over several: {"chat": …, "sms": …}. A channel with no adapter in this
    process is a transient failure, not a refusal: the row waits for a process that has one
    (or, on lane 0, moves on to the person's next endpoint at once)."""

    def __init__(self, messengers: dict[str, Messenger]) -> None:
        self.messengers = dict(messengers)

    def capabilities_of(self, channel: str) -> Capabilities | None:
        """What that channel's adapter can carry; None when this process has none for it."""
        messenger = self.messengers.get(channel)
        return messenger.capabilities if messenger is not None else None

    @property
    def capabilities(self) -> Capabilities:
        """What every channel here can carry (the sender asks capabilities_of(channel) instead)."""
        every = [m.capabilities for m in self.messengers.values()]
        limits = [c.max_text for c in every if c.max_text is not None]
        windows = [c.reply_window for c in every if c.reply_window is not None]
        return Capabilities(
            can_edit=all(c.can_edit for c in every), buttons=all(c.buttons for c in every),
            max_text=min(limits) if limits else None,
            media=frozenset.intersection(*(c.media for c in every)) if every else frozenset(),
            reply_window=min(windows) if windows else None,
            unsupported=frozenset().union(*(c.unsupported for c in every)),
        )

    async def deliver(self, item: Outgoing) -> SendOutcome:
        messenger = self.messengers.get(item.channel)
        if messenger is None:
            return SendOutcome(status="transient", error=f"no adapter for channel {item.channel}")
        return await messenger.deliver(item)
