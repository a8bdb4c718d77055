"""Inbox actions that reach into alerts and cases: marking an item done also resolves the yellow
alert it raised when it waited too long (and so may close its case and schedule the follow-up)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope
from core.alerts.raising import ALERT_RESOLVED
from core.flows import cases as case_flows
from core.inbox import service as inbox
from core.models import Alert, InboxItem


async def mark_done(session: AsyncSession, *, scope: Scope, item_id: int, now: datetime,
                    cards: bool = True) -> tuple[InboxItem, bool]:
    """core.inbox.service.mark_done, then the item's escalation alert resolved with it."""
    item, first = await inbox.mark_done(session, scope=scope, item_id=item_id, now=now, cards=cards)
    if first and item.escalation_alert_id is not None:
        alert = await session.get(Alert, item.escalation_alert_id)
        if alert is not None and alert.status != ALERT_RESOLVED:
            await case_flows.resolve_alert(session, scope=scope, alert_id=alert.id, outcome="family_supported",
                                           note=None, now=now, cards=True)
    return item, first
