"""What the outbox sends about inbox items, fixed at send time in the reader's language: the
card that comes with a guardian's copied message (or their voice recorded on the web pages, sent as
the stored file), its later edits, the daily digest; and for
the guardian, a director's reply and the "could not be shown" notice. An item erased with its
family is skipped."""
from __future__ import annotations

from datetime import datetime
from collections.abc import Sequence
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.inbox import recordings
from core.inbox.service import STAFF_KINDS
from core.inbox.views import director_contact, inbox_card
from core.locales import pick_locale
from core.messages import MessageKind
from core.models import Delivery, InboxItem, InboxMessage, Staff

SKIPPED = "skipped"
KINDS = (*STAFF_KINDS, MessageKind.INBOX_RELAY, MessageKind.INBOX_NOTICE)


class _Claimed(Protocol):
    delivery: Delivery


async def resolve_inbox_messages(session: AsyncSession, *, items: Sequence[_Claimed],
                                 now: datetime) -> dict[int, dict[str, Any]]:
    todo = [i for i in items if i.delivery.kind in KINDS and i.delivery.state == "sending"]
    out: dict[int, dict[str, Any]] = {}
    for claimed in todo:
        d = claimed.delivery
        payload = d.payload or {}
        content: dict[str, Any] = {}
        problem = None
        person = await session.get(Staff, d.staff_id) if d.staff_id else None
        if d.kind in STAFF_KINDS and (person is None or not person.active):
            problem = "staff_gone"
        elif d.kind == MessageKind.INBOX_DIGEST:
            lines = []
            for unread in (await session.scalars(select(InboxItem).where(
                    InboxItem.id.in_(payload.get("item_ids") or []), InboxItem.state != "done",
                    InboxItem.read_at.is_(None)).order_by(InboxItem.created_at, InboxItem.id))).all():
                assert person is not None
                card = await inbox_card(session, item=unread, now=now)
                lines.append(card.as_payload())
            if not lines:
                problem = "inbox_read"  # everything was read meanwhile: nothing to remind of
            content = {"items": lines, "locale": pick_locale(person.locale if person else None)}
        else:
            item = await session.get(InboxItem, payload.get("item_id"))
            if item is None:
                problem = "inbox_gone"
            elif d.kind == MessageKind.INBOX_FORWARD:
                message = await session.get(InboxMessage, payload.get("message_id"))
                if message is None:
                    problem = "inbox_gone"
                else:
                    assert person is not None
                    card = await inbox_card(session, item=item, now=now, carries_message_id=message.id)
                    content = {"card": card.as_payload(), "locale": person.locale,
                               "copy": {"from_address": message.address, "message_id": message.provider_message_id}
                               if message.kind not in ("text", "other") and message.address else None}
                    if message.address is None and recordings.is_recording(message.file_unique_id):
                        # Recorded on the web pages: the channel sends the stored file (by its name).
                        content["recording"] = {"name": message.file_unique_id,
                                                "media_type": message.media_type}
            elif d.kind == MessageKind.INBOX_UPDATE:
                assert person is not None
                card = await inbox_card(session, item=item, now=now, carries_message_id=payload.get("carried"))
                content = {"card": card.as_payload(), "locale": person.locale}
            elif d.kind == MessageKind.INBOX_NOTICE:
                contact = await director_contact(session, cohort_id=item.cohort_id)
                content = {"director": contact.name, "director_phone": contact.phone}
        if problem is not None:
            d.state, d.last_error, d.finished_at, d.lease_until = SKIPPED, problem, now, None
            continue
        out[d.id] = content
    return out
