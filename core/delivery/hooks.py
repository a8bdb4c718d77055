"""What other domains do around a send. The sender is the lowest piece of core: it knows outbox
rows, not alerts, check-ins or the inbox. Those domains plug in here instead — what fills in a
claimed row's content just before it goes, which kinds must reach a person whatever it takes,
and what happens once a row of a kind is settled — and core.flows.delivery.sender_hooks()
gathers them for the composition root (cli) and the tests."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from core.delivery.outbox import Claimed
from core.messages import EDIT_KINDS, MessageKind
from core.models import Delivery


class Resolver(Protocol):
    """delivery id → content to send, for the claimed rows it knows; a row whose moment has
    passed is marked skipped instead (a check-in already answered, an alert handled)."""

    async def __call__(self, session: AsyncSession, *, items: Sequence[Claimed],
                       now: datetime) -> dict[int, dict[str, Any]]: ...


class Settled(Protocol):
    """A row of this kind is settled: `state` is sent, blocked or failed (for good)."""

    async def __call__(self, session: AsyncSession, *, delivery: Delivery, state: str, error: str | None,
                       now: datetime) -> None: ...


class StaffBlocked(Protocol):
    """A staff member's chat refused a message (blocked): someone else must be reached."""

    async def __call__(self, session: AsyncSession, *, staff_id: int, payload: dict[str, Any],
                       now: datetime) -> None: ...


@dataclass(frozen=True)
class SenderHooks:
    resolvers: Sequence[Resolver] = ()  # their contents are merged in this order
    # retried until delivered, never dropped
    persistent_kinds: frozenset[MessageKind] = frozenset({MessageKind.SAFETY})
    # Edits of a message already on a phone (a card redrawn): they only mean something where that
    # message is, so they never move to another endpoint.
    edit_kinds: frozenset[MessageKind] = EDIT_KINDS
    on_settled: Mapping[str, Settled] = field(default_factory=dict)  # by kind (a MessageKind)
    on_staff_blocked: StaffBlocked | None = None
