"""Idempotency keys for POSTs that create something (a case note, a contact, a referral): a
client that did not see the answer — a dropped connection on a village network — sends the
same request with the same `Idempotency-Key` again and gets the first result, not a second row.

Keys belong to the staff member who sent them and last KEY_TTL; reusing one for a different
request (another action, target or body) is refused. Two concurrent first uses race on the
unique key: one wins, the other's transaction fails (409, "try again") and its retry replays.
"""
from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.errors import Invalid
from core.models import IdempotencyKey

KEY_TTL = timedelta(hours=24)
KEY_PATTERN = r"^[\x21-\x7e]{1,128}$"  # visible ASCII, as UUIDs and most clients' keys are


def fingerprint(*, action: str, target: Any, body: Any) -> str:
    """A hash of what was asked; the request's text itself is never stored with the key."""
    text = json.dumps([action, target, body], sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


async def replayed(
    session: AsyncSession, *, staff_id: int, key: str, action: str, fingerprint: str, now: datetime
) -> int | None:
    """The id the first request with this key created, or None for a key not (or no longer) in
    use. Invalid (422) when the key was used for a different request."""
    row = await session.scalar(select(IdempotencyKey).where(IdempotencyKey.staff_id == staff_id,
                                                            IdempotencyKey.key == key))
    if row is None:
        return None
    if row.created_at <= now - KEY_TTL:
        await session.execute(delete(IdempotencyKey).where(IdempotencyKey.id == row.id))
        return None
    if row.action != action or row.fingerprint != fingerprint:
        raise Invalid("this Idempotency-Key was already used for a different request; send a new key",
                      field="Idempotency-Key", code="idempotency_key_reused")
    return row.entity_id


def remember(
    session: AsyncSession, *, staff_id: int, key: str, action: str, fingerprint: str, entity_id: int,
    now: datetime,
) -> None:
    session.add(IdempotencyKey(staff_id=staff_id, key=key, action=action, fingerprint=fingerprint,
                               entity_id=entity_id, created_at=now))
