"""The sender's hooks (core.delivery.hooks): the alert, check-in and inbox domains' part in
sending, registered from here so the sender imports none of them. The composition root (cli)
and the tests build every Sender with sender_hooks()."""
from __future__ import annotations

from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts.notify import notification_failed, staff_unreachable
from core.alerts.outgoing import resolve_staff_messages
from core.checkin.outgoing import resolve_checkins
from core.delivery.hooks import SenderHooks
from core.clock import Clock
from core.config import Settings
from core.delivery import sender
from core.delivery.sender import SenderConfig
from core.delivery.outbox import FAILED, SENT, due_edits
from core.inbox.outgoing import resolve_inbox_messages
from core.inbox.service import forward_elsewhere, forward_result, relay_result
from core.messages import EDIT_KINDS, MessageKind
from core.models import Delivery
from core.ports import Messenger, SendOutcome


async def _alert_card_settled(session: AsyncSession, *, delivery: Delivery, state: str, error: str | None,
                              now: datetime) -> None:
    if state == FAILED:  # refused for good: the ladder goes up now rather than at its deadline
        await notification_failed(session, alert_id=(delivery.payload or {}).get("alert_id"), now=now)


async def _forward_settled(session: AsyncSession, *, delivery: Delivery, state: str, error: str | None,
                           now: datetime) -> None:
    # A card whose copy the channel refused is sent with error "copy_refused"; a card a director's
    # chat refused (blocked) or that failed goes to whoever can still be reached.
    message_id = (delivery.payload or {}).get("message_id")
    if state == SENT:
        await forward_result(session, message_id=message_id, shown=not error, now=now)
    else:
        await forward_elsewhere(session, message_id=message_id, now=now)


async def _relay_settled(session: AsyncSession, *, delivery: Delivery, state: str, error: str | None,
                         now: datetime) -> None:
    await relay_result(session, message_id=(delivery.payload or {}).get("message_id"),
                       delivered=state == SENT and not error, now=now)


async def _staff_blocked(session: AsyncSession, *, staff_id: int, payload: dict[str, Any], now: datetime) -> None:
    await staff_unreachable(session, staff_id=staff_id, alert_id=payload.get("alert_id"), now=now)


def sender_hooks() -> SenderHooks:
    return SenderHooks(
        resolvers=(resolve_checkins, resolve_staff_messages, resolve_inbox_messages),
        persistent_kinds=frozenset({MessageKind.SAFETY, MessageKind.ALERT, MessageKind.ALERT_REMINDER,
                                    MessageKind.INBOX_FORWARD, MessageKind.INBOX_RELAY}),
        edit_kinds=EDIT_KINDS,
        on_settled={MessageKind.ALERT: _alert_card_settled, MessageKind.INBOX_FORWARD: _forward_settled,
                    MessageKind.INBOX_RELAY: _relay_settled},
        on_staff_blocked=_staff_blocked,
    )


def sender_config(settings: Settings) -> SenderConfig:
    """How every send is made (SHOUWANG_SEND_*, paid broadcast): the one place that turns the
    settings into a SenderConfig, for the worker's Sender (cli) and for the sends a handler makes
    at once (AtOnce, wired with the bot's dispatcher), so a message sent at once is retried and
    given up exactly as the worker would."""
    return SenderConfig(rate=settings.send_rate, max_attempts=settings.send_max_attempts,
                        paid_broadcast=settings.paid_broadcast, paid_rate=settings.paid_broadcast_rate)


@dataclass(frozen=True)
class AtOnce:
    """What a handler sends through at once: its channel's Messenger port and the sender's
    settings (sender_config(settings), never SenderConfig's defaults), built where the adapter
    is wired."""

    messenger: Messenger
    config: SenderConfig


async def deliver_now(session: AsyncSession, at_once: AtOnce, rows: Sequence[Delivery], *, clock: Clock,
                      channels: Collection[str] | None = None) -> dict[int, SendOutcome]:
    """core.delivery.sender.deliver_now with these hooks and the configured sender settings: the
    rows go out through the port now, recorded as the sender records them (it retries what
    fails). Commits."""
    return await sender.deliver_now(session, at_once.messenger, rows, hooks=sender_hooks(), clock=clock,
                                    config=at_once.config, channels=channels)


async def alert_card_edits(session: AsyncSession, *, alert_id: int, now: datetime) -> list[Delivery]:
    """The edits of an alert's cards an action just queued (cards=True), to deliver at once."""
    return await due_edits(session, kinds=(MessageKind.ALERT_UPDATE,), about=("alert", alert_id), now=now)


async def inbox_card_edits(session: AsyncSession, *, item_id: int, now: datetime) -> list[Delivery]:
    """The edits of an inbox item's cards an action just queued (cards=True), to deliver at once."""
    return await due_edits(session, kinds=(MessageKind.INBOX_UPDATE,), about=("inbox", item_id), now=now)
