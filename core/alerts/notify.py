"""Who hears of an alert, and when: every linked director of the cohort at once (lane 0, through
the outbox, retried until delivered); a reminder to them before the deadline; then, while nobody
has acknowledged, the cohort's supervisors, and after a second period every admin. A cohort with
no reachable director escalates at once. Each step is a delivery row and a case event."""
from __future__ import annotations

import logging
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts.policy import AlertPolicy
from core.delivery.outbox import LANE_CHECKIN, LANE_URGENT, enqueue
from core.endpoints.service import first_addresses, staff_reachable
from core.messages import MessageKind
from core.models import Alert, CaseEvent, Cohort, Delivery, Staff, StaffCohort
from core.models.enums import StaffRole

log = logging.getLogger(__name__)

STAFF_KINDS = (MessageKind.ALERT, MessageKind.ALERT_UPDATE, MessageKind.ALERT_REMINDER, MessageKind.FOLLOWUP_RESULT,
               MessageKind.HOUSEHOLD_LEFT, MessageKind.GUARDIAN_LEFT, MessageKind.ALERT_NEWS)
LEVEL_ROLES = {0: StaffRole.director, 1: StaffRole.supervisor, 2: StaffRole.admin}
TOP_LEVEL = 2


async def reachable_staff(session: AsyncSession, *, cohort_id: int | None, role: str) -> list[Staff]:
    """Active staff of this role with an endpoint that still works (a linked chat that has not
    blocked the bot): the cohort's own directors or supervisors; for admins, all of them."""
    query = select(Staff).where(Staff.role == role, Staff.active.is_(True), staff_reachable())
    if role != StaffRole.admin:
        query = query.join(StaffCohort, StaffCohort.staff_id == Staff.id).where(StaffCohort.cohort_id == cohort_id)
    return list((await session.scalars(query.order_by(Staff.id))).all())


async def policy_for(session: AsyncSession, cohort_id: int | None) -> AlertPolicy:
    cohort = await session.get(Cohort, cohort_id) if cohort_id is not None else None
    return AlertPolicy.of(cohort.alert_policy if cohort else None)


async def _send(session: AsyncSession, *, alert: Alert, people: list[Staff], kind: MessageKind, cycle: str,
                now: datetime, lane: int = LANE_URGENT, **payload: object) -> int:
    sent = 0
    addresses = await first_addresses(session, staff_ids=[p.id for p in people])
    for person in people:
        if person.id not in addresses:
            continue
        if await enqueue(session, address=addresses[person.id], kind=kind, ref=f"alert:{alert.id}", cycle=cycle,
                         lane=lane, due_at=now, now=now, cohort_id=alert.cohort_id, staff_id=person.id,
                         payload={"alert_id": alert.id, **payload}):
            sent += 1
    return sent


def _event(session: AsyncSession, alert: Alert, *, kind: str, now: datetime, **detail: object) -> None:
    session.add(CaseEvent(case_id=alert.case_id, cohort_id=alert.cohort_id, household_id=alert.household_id,
                          alert_id=alert.id, at=now, kind=kind, detail=detail))


async def announce(session: AsyncSession, *, alert: Alert, now: datetime, again: bool = False) -> None:
    """A new alert (or one that just became more severe): the deadlines, and a message to every
    reachable director; none reachable means the supervisors hear of it now."""
    policy = await policy_for(session, alert.cohort_id)
    alert.remind_at, alert.escalate_at = policy.deadlines(alert.severity, now)
    directors = await reachable_staff(session, cohort_id=alert.cohort_id, role=StaffRole.director)
    if directors:
        await _send(session, alert=alert, people=directors, kind=MessageKind.ALERT,
                    cycle=f"0-{alert.severity}" if again else "0", now=now, level=0)
        return
    log.warning("alert %s: cohort %s has no reachable director; escalating at once", alert.id, alert.cohort_id)
    await escalate(session, alert=alert, now=now, why="no_director")


async def escalate(session: AsyncSession, *, alert: Alert, now: datetime, why: str = "not_acknowledged") -> None:
    """One step up the ladder: supervisors, then admins (straight to admins when the cohort has
    no reachable supervisor). Recorded on the case."""
    policy = await policy_for(session, alert.cohort_id)
    level = alert.escalation_level
    while level < TOP_LEVEL:
        level += 1
        people = await reachable_staff(session, cohort_id=alert.cohort_id, role=LEVEL_ROLES[level])
        if people:
            await _send(session, alert=alert, people=people, kind=MessageKind.ALERT, cycle=str(level), now=now, level=level)
            break
        why = f"no_{LEVEL_ROLES[level]}"
    else:
        people = []
    alert.escalation_level = level
    alert.remind_at = None
    alert.escalate_at = now + policy.ack_period(alert.severity) if level < TOP_LEVEL else None
    _event(session, alert, kind="escalated", now=now, level=level, to=str(LEVEL_ROLES[level]), why=why,
           recipients=len(people))
    if not people:
        log.error("alert %s escalated to level %s but nobody there can be reached", alert.id, level)
    await session.flush()


async def escalate_due(session: AsyncSession, *, now: datetime, limit: int = 200) -> int:
    """Unacknowledged alerts past their deadline go up one step. Locked rows are another
    worker's: skipped, so two workers never escalate the same alert twice."""
    alerts = (await session.scalars(
        select(Alert).where(Alert.status == "open", Alert.escalate_at <= now)
        .order_by(Alert.escalate_at, Alert.id).limit(limit).with_for_update(skip_locked=True)
    )).all()
    for alert in alerts:
        await escalate(session, alert=alert, now=now)
    return len(alerts)


async def remind_due(session: AsyncSession, *, now: datetime, limit: int = 200) -> int:
    """The directors' nudge, three quarters of the way to the deadline."""
    alerts = (await session.scalars(
        select(Alert).where(Alert.status == "open", Alert.remind_at <= now)
        .order_by(Alert.remind_at, Alert.id).limit(limit).with_for_update(skip_locked=True)
    )).all()
    for alert in alerts:
        directors = await reachable_staff(session, cohort_id=alert.cohort_id, role=StaffRole.director)
        await _send(session, alert=alert, people=directors, kind=MessageKind.ALERT_REMINDER, cycle="1", now=now,
                    escalate_at=alert.escalate_at.isoformat() if alert.escalate_at else None)
        alert.remind_at = None
        _event(session, alert, kind="reminded", now=now, recipients=len(directors))
    await session.flush()
    return len(alerts)


async def staff_unreachable(session: AsyncSession, *, staff_id: int, alert_id: int | None, now: datetime) -> None:
    """No endpoint of a staff member takes messages any more (the sender has marked them):
    if the alert now has no reachable director, escalate it at once."""
    alert = await session.get(Alert, alert_id) if alert_id else None
    if alert is None or alert.status != "open" or alert.escalation_level > 0:
        return
    await session.flush()
    if not await reachable_staff(session, cohort_id=alert.cohort_id, role=StaffRole.director):
        await escalate(session, alert=alert, now=now, why="director_blocked")


async def notification_failed(session: AsyncSession, *, alert_id: int | None, now: datetime) -> None:
    """The channel refused an alert card for good (not a network error, which is retried): if no
    director has the alert now, it goes up the ladder at once rather than wait for a deadline."""
    alert = await session.get(Alert, alert_id) if alert_id else None
    if alert is None or alert.status != "open" or alert.escalation_level > 0:
        return
    delivered = await session.scalar(
        select(Delivery.id).where(Delivery.kind == MessageKind.ALERT, Delivery.about("alert", alert.id),
                                  Delivery.state.in_(["sent", "pending", "sending"])).limit(1)
    )
    if delivered is None:
        await escalate(session, alert=alert, now=now, why="notification_failed")


async def tell_directors(session: AsyncSession, *, cohort_id: int | None, kind: MessageKind, ref: str, now: datetime,
                         payload: dict[str, object]) -> int:
    """A plain notice for the cohort's directors (a follow-up's result, a family that left)."""
    sent = 0
    people = await reachable_staff(session, cohort_id=cohort_id, role=StaffRole.director)
    addresses = await first_addresses(session, staff_ids=[p.id for p in people])
    for person in people:
        if person.id not in addresses:
            continue
        if await enqueue(session, address=addresses[person.id], kind=kind, ref=ref, cycle="1", lane=LANE_CHECKIN,
                         due_at=now, now=now, cohort_id=cohort_id, staff_id=person.id, payload=payload):
            sent += 1
    return sent


async def _card_holders(session: AsyncSession, *, alert_id: int) -> list[tuple[str, str, int | None, int]]:
    """(address, card message id, staff id, level) of every card of this alert sent to staff."""
    rows = await session.execute(
        select(Delivery.address, Delivery.provider_message_id, Delivery.staff_id, Delivery.payload)
        .where(Delivery.kind == MessageKind.ALERT, Delivery.ref == f"alert:{alert_id}", Delivery.staff_id.is_not(None),
               Delivery.provider_message_id.is_not(None))
        .order_by(Delivery.id)
    )
    return [(address, message_id, staff_id, int((payload or {}).get("level", 0)))
            for address, message_id, staff_id, payload in rows]


async def cards_redrawn(session: AsyncSession, *, alert: Alert, now: datetime, why: str) -> int:
    """Every card of this alert is edited to show it as it stands now (lane 0). `why` keys the
    edit ("n3": the third occurrence, "refiled"), so the same change is queued once."""
    queued = 0
    for address, message_id, staff_id, level in await _card_holders(session, alert_id=alert.id):
        # An edit goes where the card is (the sender never moves it to another endpoint).
        if await enqueue(session, address=address, kind=MessageKind.ALERT_UPDATE, ref=f"alert:{alert.id}:{message_id}",
                         cycle=f"{alert.status}-{why}", lane=LANE_URGENT, due_at=now, now=now,
                         cohort_id=alert.cohort_id, staff_id=staff_id,
                         payload={"alert_id": alert.id, "message_id": message_id, "level": level}):
            queued += 1
    return queued


async def tell_news(session: AsyncSession, *, alert: Alert, now: datetime) -> int:
    """A new occurrence joined an open alert: everyone holding its card gets a short new message
    at once (lane 0: "新情况：…", the new words, a button to the card) and the card is edited to
    show the count. The deadlines stay as they were: news does not restart the clock."""
    await session.flush()
    told = 0
    seen: set[str] = set()
    for address, _message_id, staff_id, _level in await _card_holders(session, alert_id=alert.id):
        if address in seen:
            continue
        seen.add(address)
        if await enqueue(session, address=address, kind=MessageKind.ALERT_NEWS, ref=f"alert:{alert.id}",
                         cycle=f"n{alert.occurrences}", lane=LANE_URGENT, due_at=now, now=now,
                         cohort_id=alert.cohort_id, staff_id=staff_id,
                         payload={"alert_id": alert.id, "occurrences": alert.occurrences,
                                  "free_text_id": (alert.evidence or {}).get("free_text_id")}):
            told += 1
    await cards_redrawn(session, alert=alert, now=now, why=f"n{alert.occurrences}")
    return told
