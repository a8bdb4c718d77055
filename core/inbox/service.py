"""The inbox: what a guardian sends outside a flow or a question is committed as an item for the
cohort's directors before anything else happens, and put in front of them through the outbox
(lane 0: a person's words, few and never bulk, must not wait behind a lesson; each forward is a
row, so a crash between receiving and forwarding loses nothing). The risk scan decides only the
urgency (a red or orange hit also raises its alert, linked to the item); never whether a person
sees it.

Directors reply (relayed to the guardian through the outbox), note a call, or mark it done; the
guardian's next message while the conversation is open joins it. An item about one child joins
that child's case; a household with several children is asked which child it is about. Unread
items go into a daily digest; items nobody marks done in 72 h escalate as a yellow alert."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.access import Scope
from core.alerts import notify, raising
from core.alerts.raising import ALERT_OPEN, ALERT_RESOLVED, AlertSubject
from core.alerts.views import INBOX_SOURCE  # questionnaire_id of the alert raised when an item waits too long
from core.checkin.free_text import TextResult, receive_text, subject_child
from core.checkin.risk import RiskScanner
from core.delivery.outbox import LANE_CHECKIN, LANE_URGENT, enqueue
from core.delivery.schedule import parse_hhmm
from core.endpoints.service import first_address, first_addresses
from core.errors import Conflict, Invalid, NotFound
from core.locales import localized, pick_locale
from core.messages import MessageKind
from core.models import (
    Alert, Case, CaseEvent, Child, Cohort, Delivery, Guardian, Household, InboxItem, InboxMessage, Staff,
)
from core.models.enums import GuardianStatus, StaffRole

log = logging.getLogger(__name__)

ASKING, OPEN, DONE = "asking", "open", "done"
STATES = (ASKING, OPEN, DONE)
MEDIA_KINDS = ("voice", "photo", "video", "video_note", "audio", "document")
KINDS = ("text", *MEDIA_KINDS, "other")  # other: something the channel cannot pass on (a location, a poll…)
# in: received (not yet put before anyone) → forwarded → shown | not_shown; out: queued → delivered | undelivered
RECEIVED, FORWARDED, SHOWN, NOT_SHOWN = "received", "forwarded", "shown", "not_shown"
QUEUED, DELIVERED, UNDELIVERED = "queued", "delivered", "undelivered"

STAFF_KINDS = (MessageKind.INBOX_FORWARD, MessageKind.INBOX_UPDATE, MessageKind.INBOX_DIGEST)

TEXT_MAX = 4000
THREAD_WINDOW = timedelta(days=3)  # after a director's reply, the guardian's answers join the item
QUICK_JOIN = timedelta(minutes=10)  # several messages in a row are one item
ASK_WAIT = timedelta(minutes=30)  # an unanswered "which child?" goes to the directors as the family's
DONE_WITHIN = timedelta(hours=72)  # then it escalates like a yellow alert
DEFAULT_DIGEST = "18:00"
NOT_DONE_RULE = "inbox_not_done"
NOT_DONE_REASONS = {
    "zh-Hans": "家人发来的话，72小时内没有人处理完。请尽快回复或打电话给这家人。",
    "en": "A family's message has not been dealt with for 72 hours. Please reply or call the family soon.",
}


@dataclass
class Incoming:
    """One message from a guardian, as the channel adapter saw it. Media are referenced, never
    downloaded: the address it came from and the channel's message id to copy it, and the file's
    unique id."""

    kind: str  # one of KINDS; "other" for what cannot be passed on
    # None: nothing to copy (words typed on a web page travel on the director's card).
    address: str | None
    message_id: str | None
    text: str | None = None  # typed words, or a caption
    file_unique_id: str | None = None
    media_type: str | None = None


@dataclass
class Received:
    item: InboxItem
    message: InboxMessage
    new: bool  # a new item (False: it joined an open conversation)
    scan: TextResult | None = None  # the risk scan of the words, with the alert it raised
    ask_child: list[Child] = field(default_factory=list)  # ask the guardian which of these it is about

    @property
    def urgent(self) -> bool:
        return self.scan is not None and self.scan.hit


# ---------------------------------------------------------------- receiving


async def open_thread(session: AsyncSession, *, guardian_id: int, now: datetime) -> InboxItem | None:
    """The guardian's conversation still open: their newest item not done, when a director replied
    within THREAD_WINDOW or they wrote to it a moment ago."""
    item = await session.scalar(
        select(InboxItem).where(InboxItem.guardian_id == guardian_id, InboxItem.state != DONE)
        .order_by(InboxItem.last_message_at.desc(), InboxItem.id.desc()).limit(1).with_for_update()
    )
    if item is None:
        return None
    if item.last_message_at >= now - QUICK_JOIN:
        return item
    replied = await session.scalar(select(InboxMessage.id).where(
        InboxMessage.item_id == item.id, InboxMessage.direction == "out", InboxMessage.at >= now - THREAD_WINDOW)
        .limit(1))
    return item if replied is not None else None


async def _children(session: AsyncSession, household_id: int) -> list[Child]:
    return list((await session.scalars(select(Child).where(Child.household_id == household_id)
                                       .order_by(Child.id))).all())


async def receive(session: AsyncSession, *, guardian: Guardian, incoming: Incoming, scanner: RiskScanner,
                  now: datetime) -> Received:
    """Commit what the guardian sent as an item (or the next message of their open
    conversation), scan its words first, and queue it for the directors. The caller commits
    before it replies."""
    if incoming.kind not in KINDS:
        raise Invalid(f"kind must be one of {', '.join(KINDS)}", field="kind")
    household = await session.get(Household, guardian.household_id)
    assert household is not None
    item = await open_thread(session, guardian_id=guardian.id, now=now)
    if item is not None and incoming.text:
        named = await subject_child(session, household_id=household.id, text=incoming.text)
        if named is not None and named != item.child_id:
            item = None  # words about another child: their own item (and the alert in that child's case)
    new = item is None
    children = await _children(session, household.id) if new else []
    child_id = item.child_id if item is not None else None
    if new:
        if len(children) == 1:
            child_id = children[0].id
        elif incoming.text:
            child_id = await subject_child(session, household_id=household.id, text=incoming.text)
    scan = None
    if incoming.text:
        # A multi-child household's words that name no child: about the household for now (a red
        # alert goes out at once), re-filed under the child when the guardian answers.
        scan = await receive_text(session, guardian=guardian, text=incoming.text, scanner=scanner, now=now,
                                  child_id=child_id)
    if item is None:
        asking = child_id is None and len(children) > 1
        item = InboxItem(cohort_id=household.cohort_id, household_id=household.id, guardian_id=guardian.id,
                         child_id=child_id, state=ASKING if asking else OPEN, created_at=now, last_message_at=now)
        session.add(item)
        await session.flush()
    message = InboxMessage(
        item_id=item.id, direction="in", guardian_id=guardian.id, kind=incoming.kind,
        text=incoming.text[:TEXT_MAX] if incoming.text else None, address=incoming.address,
        provider_message_id=incoming.message_id, file_unique_id=incoming.file_unique_id,
        media_type=incoming.media_type, status=RECEIVED,
        severity=scan.scan.severity if scan is not None and scan.hit else None, at=now,
    )
    session.add(message)
    item.last_message_at = now
    if scan is not None and scan.alert is not None:
        # The alert's card carries these words to every director at once (and "新情况" for a
        # repeat): the item keeps them and links the alert, without a second message.
        message.status = SHOWN
        item.alert_id = scan.alert.id
        item.case_id = scan.alert.case_id
    elif item.child_id is not None and item.case_id is None:
        item.case_id = await _open_case_of(session, f"child:{item.child_id}")
    await session.flush()
    await _timeline(session, item=item, message=message, now=now)
    received = Received(item=item, message=message, new=new, scan=scan,
                        ask_child=children if new and item.state == ASKING else [])
    if item.state != ASKING or received.urgent or item.alert_id is not None:
        await forward_pending(session, item=item, now=now)
        if not new:
            await cards_changed(session, item=item, now=now)
    return received  # asking and not red: it waits for the guardian's answer (or ASK_WAIT)


async def _open_case_of(session: AsyncSession, subject_key: str) -> int | None:
    return await session.scalar(select(Case.id).where(Case.subject_key == subject_key, Case.status == "open"))


async def _timeline(session: AsyncSession, *, item: InboxItem, message: InboxMessage, now: datetime) -> None:
    """The message in the household's timeline, and in the child's case when there is one. The
    event holds ids only: the words stay with the message (erased with the family)."""
    case_id = item.case_id
    if item.child_id is not None:
        case_id = await _open_case_of(session, f"child:{item.child_id}") or case_id
    session.add(CaseEvent(case_id=case_id, cohort_id=item.cohort_id, household_id=item.household_id,
                          staff_id=message.staff_id, at=now, kind=f"inbox_{message.direction}",
                          detail={"inbox_item_id": item.id, "inbox_message_id": message.id, "kind": message.kind}))


async def _recipients(session: AsyncSession, *, cohort_id: int) -> list[Staff]:
    """The cohort's reachable directors; with none, its supervisors; with none, the admins."""
    for role in (StaffRole.director, StaffRole.supervisor, StaffRole.admin):
        people = await notify.reachable_staff(session, cohort_id=cohort_id, role=role)
        if people:
            return people
    return []


async def forward_pending(session: AsyncSession, *, item: InboxItem, now: datetime) -> int:
    """Every message of the item not yet put before anyone: one outbox row per director and
    message (the copy and the card go out together)."""
    pending = list((await session.scalars(select(InboxMessage).where(
        InboxMessage.item_id == item.id, InboxMessage.direction == "in", InboxMessage.status == RECEIVED)
        .order_by(InboxMessage.id))).all())
    people = await _recipients(session, cohort_id=item.cohort_id)
    if not people:
        log.error("inbox item %s: nobody can be reached in cohort %s", item.id, item.cohort_id)
    queued = 0
    addresses = await first_addresses(session, staff_ids=[p.id for p in people])
    for message in pending:
        for person in people:
            if person.id not in addresses:
                continue
            if await enqueue(session, address=addresses[person.id], kind=MessageKind.INBOX_FORWARD, ref=f"inbox:{item.id}",
                             cycle=f"m{message.id}", lane=LANE_URGENT, due_at=now, now=now, cohort_id=item.cohort_id,
                             staff_id=person.id, payload={"item_id": item.id, "message_id": message.id}):
                queued += 1
        # Something the channel cannot pass on goes as the card alone: "a message that could not be shown".
        message.status = NOT_SHOWN if message.kind == "other" else FORWARDED
    await session.flush()
    return queued


# ---------------------------------------------------------------- which child


async def choose_child(session: AsyncSession, *, guardian: Guardian, item_id: int, child_id: int,
                       now: datetime) -> InboxItem:
    """The guardian said which child their message is about (0: the family). A waiting item goes
    to the directors now; an alert it raised at once is re-filed in the child's case."""
    item = await session.scalar(select(InboxItem).where(InboxItem.id == item_id).with_for_update())
    if item is None or item.household_id != guardian.household_id:
        raise NotFound("inbox item not found")
    if item.state != ASKING:
        raise Conflict("this was already answered", code="answered")
    if child_id:
        child = await session.get(Child, child_id)
        if child is None or child.household_id != item.household_id:
            raise NotFound("child not found")
        item.child_id = child.id
    item.state = OPEN
    if item.alert_id is not None and item.child_id is not None:
        alert = await session.get(Alert, item.alert_id)
        if alert is not None and alert.status != ALERT_RESOLVED and alert.child_id is None:
            alert = await refile_alert(session, alert=alert, child_id=item.child_id, now=now)
            item.alert_id, item.case_id = alert.id, alert.case_id
    if item.child_id is not None and item.case_id is None:
        item.case_id = await _open_case_of(session, f"child:{item.child_id}")
    await session.flush()
    await forward_pending(session, item=item, now=now)
    await cards_changed(session, item=item, now=now)
    return item


async def refile_alert(session: AsyncSession, *, alert: Alert, child_id: int, now: datetime) -> Alert:
    """A household alert turns out to be about one child: it moves to the child's case (一人一案).
    An open alert of the same rule about that child takes it in as another occurrence."""
    key = f"child:{child_id}"
    old_case = await session.get(Case, alert.case_id) if alert.case_id else None
    same = await session.scalar(select(Alert).where(
        Alert.subject_key == key, Alert.questionnaire_id == alert.questionnaire_id, Alert.rule_id == alert.rule_id,
        Alert.status != ALERT_RESOLVED, Alert.id != alert.id).with_for_update())
    if same is not None:
        same.occurrences += alert.occurrences
        same.last_seen_at = now
        alert.status, alert.outcome, alert.resolved_at = ALERT_RESOLVED, "other", now
        alert.escalate_at = alert.remind_at = None
        target = same
    else:
        alert.subject_key, alert.child_id = key, child_id
        target = alert
    child_case = await session.scalar(select(Case).where(Case.subject_key == key, Case.status == "open"))
    others = 0
    if old_case is not None:
        others = await session.scalar(select(func.count()).select_from(Alert).where(
            Alert.case_id == old_case.id, Alert.id != alert.id)) or 0
    case: Case | None
    if target is alert and old_case is not None and child_case is None and not others:
        old_case.subject_key, old_case.child_id = key, child_id  # the case was only this alert's: it is the child's
        case = old_case
    else:
        if target is alert:
            alert.case_id = None
            case = await raising.attach_to_case(session, alert=alert, new=True, now=now)
        else:
            case = await session.get(Case, target.case_id) if target.case_id else None
        if old_case is not None and old_case.status == "open":
            left = await session.scalar(select(func.count()).select_from(Alert).where(
                Alert.case_id == old_case.id, Alert.status != ALERT_RESOLVED, Alert.id != target.id))
            if not left:
                old_case.status, old_case.outcome, old_case.closed_at = "closed", "other", now
    if case is not None:
        session.add(CaseEvent(case_id=case.id, cohort_id=target.cohort_id, household_id=target.household_id,
                              alert_id=target.id, at=now, kind="refiled",
                              detail={"from": f"household:{target.household_id}", "to": key}))
    await session.flush()
    await notify.cards_redrawn(session, alert=target, now=now, why="refiled")
    return target


async def expire_questions(session: AsyncSession, *, now: datetime, limit: int = 200) -> int:
    """Nobody answered "which child?": the item goes to the directors as the family's."""
    items = (await session.scalars(select(InboxItem).where(InboxItem.state == ASKING,
                                                           InboxItem.created_at <= now - ASK_WAIT)
                                   .order_by(InboxItem.id).limit(limit).with_for_update(skip_locked=True))).all()
    for item in items:
        item.state = OPEN
        await forward_pending(session, item=item, now=now)
    return len(items)


# ---------------------------------------------------------------- staff


def _visible(scope: Scope, cohort_id: int | None) -> bool:
    return scope.is_admin or (cohort_id is not None and scope.sees(cohort_id))


async def get_item(session: AsyncSession, *, scope: Scope, item_id: int, lock: bool = False) -> InboxItem:
    """The item, when it is of the reader's cohorts; else not found (never "forbidden")."""
    query = select(InboxItem).where(InboxItem.id == item_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    item = await session.scalar(query)
    if item is None or not _visible(scope, item.cohort_id):
        raise NotFound("inbox item not found")
    return item


def _read(item: InboxItem, scope: Scope, now: datetime) -> None:
    if item.read_at is None:
        item.read_at, item.read_by_staff_id = now, scope.staff_id


async def list_items(session: AsyncSession, *, scope: Scope, now: datetime, cohort_id: int | None = None,
                     state: str | None = None, limit: int = 50) -> list[InboxItem]:
    """The reader's items: open ones (and those waiting for the guardian's answer) by default,
    oldest first (the one waiting longest on top)."""
    query = select(InboxItem)
    if cohort_id is not None:
        if not scope.sees(cohort_id):
            raise NotFound("cohort not found")
        query = query.where(InboxItem.cohort_id == cohort_id)
    elif scope.cohort_ids is not None:
        query = query.where(InboxItem.cohort_id.in_(list(scope.cohort_ids)))
    if state is not None:
        if state not in STATES:
            raise Invalid(f"state must be one of {', '.join(STATES)}", field="state")
        query = query.where(InboxItem.state == state)
        order = (InboxItem.created_at.desc(), InboxItem.id.desc()) if state == DONE else (
            InboxItem.created_at, InboxItem.id)
    else:
        query = query.where(InboxItem.state != DONE)
        order = (InboxItem.created_at, InboxItem.id)
    items = list((await session.scalars(query.order_by(*order).limit(limit))).all())
    audit.record(session, staff_id=scope.staff_id, action="read", entity="inbox_item", cohort_id=cohort_id, now=now,
                 ids=[i.id for i in items])
    return items


async def thread(session: AsyncSession, *, item_id: int) -> list[InboxMessage]:
    return list((await session.scalars(select(InboxMessage).where(InboxMessage.item_id == item_id)
                                       .order_by(InboxMessage.at, InboxMessage.id))).all())


async def read_item(session: AsyncSession, *, scope: Scope, item_id: int, now: datetime) -> InboxItem:
    item = await get_item(session, scope=scope, item_id=item_id, lock=True)
    _read(item, scope, now)
    audit.record(session, staff_id=scope.staff_id, action="read", entity="inbox_item", entity_id=item.id,
                 cohort_id=item.cohort_id, now=now)
    await session.flush()
    return item


async def note_call(session: AsyncSession, *, scope: Scope, item_id: int, now: datetime,
                    cards: bool = True) -> InboxItem:
    """A director called the family about it: on the item and, as a call, in the timeline."""
    item = await get_item(session, scope=scope, item_id=item_id, lock=True)
    if item.state == DONE:
        raise Conflict("this message is already done", code="inbox_done")
    _read(item, scope, now)
    if item.call_noted_at is None:
        item.call_noted_at, item.call_noted_by_staff_id = now, scope.staff_id
    session.add(CaseEvent(case_id=item.case_id, cohort_id=item.cohort_id, household_id=item.household_id,
                          staff_id=scope.staff_id, at=now, kind="contact",
                          detail={"method": "call", "inbox_item_id": item.id}))
    audit.record(session, staff_id=scope.staff_id, action="update", entity="inbox_item", entity_id=item.id,
                 cohort_id=item.cohort_id, now=now, fields=["call_noted_at"])
    await session.flush()
    if cards:
        await cards_changed(session, item=item, now=now)
    return item


async def mark_done(session: AsyncSession, *, scope: Scope, item_id: int, now: datetime,
                    cards: bool = True) -> tuple[InboxItem, bool]:
    """Done (idempotent: (item, False) when someone had done it already). The yellow alert raised
    because it waited too long is resolved with it by core.flows.inbox.mark_done, which every
    adapter calls."""
    item = await get_item(session, scope=scope, item_id=item_id, lock=True)
    if item.state == DONE:
        return item, False
    _read(item, scope, now)
    item.state, item.done_at, item.done_by_staff_id = DONE, now, scope.staff_id
    audit.record(session, staff_id=scope.staff_id, action="update", entity="inbox_item", entity_id=item.id,
                 cohort_id=item.cohort_id, now=now, fields=["state"], state=DONE)
    await session.flush()
    if cards:
        await cards_changed(session, item=item, now=now)
    return item, True


async def reply(session: AsyncSession, *, scope: Scope, item_id: int, now: datetime, text: str | None = None,
                voice: tuple[int, int, str | None] | None = None, cards: bool = True) -> InboxMessage:
    """A director's reply, relayed to the guardian through the outbox (lane 0) as
    "（name）回复您：…"; a voice note (chat id, message id, file unique id) is copied as it is. A
    guardian who has blocked the bot or said stop is not written to: the reply is marked
    undelivered on the card."""
    if text is not None:
        text = text.strip()
        if not text:
            raise Invalid("a reply needs some words", field="text", code="reply_empty")
        if len(text) > TEXT_MAX:
            raise Invalid(f"a reply is at most {TEXT_MAX} characters", field="text", code="reply_too_long")
    elif voice is None:
        raise Invalid("a reply needs words or a voice note", field="text", code="reply_empty")
    item = await get_item(session, scope=scope, item_id=item_id, lock=True)
    scope.require_change(item.cohort_id)
    _read(item, scope, now)
    staff = await session.get(Staff, scope.staff_id)
    guardian = await session.get(Guardian, item.guardian_id) if item.guardian_id else None
    reachable = guardian is not None and guardian.unreachable_at is None and guardian.status != GuardianStatus.stopped
    message = InboxMessage(
        item_id=item.id, direction="out", staff_id=scope.staff_id, kind="text" if voice is None else "voice",
        text=text, address=voice[0] if voice else None, provider_message_id=voice[1] if voice else None,
        file_unique_id=voice[2] if voice else None, status=QUEUED if reachable else UNDELIVERED, at=now,
    )
    session.add(message)
    item.last_message_at = now
    if item.state == DONE:
        item.state, item.done_at, item.done_by_staff_id = OPEN, None, None  # the conversation goes on
    await session.flush()
    address = await first_address(session, guardian_id=guardian.id) if reachable and guardian else None
    if address is None and reachable:
        message.status, reachable = UNDELIVERED, False
    if reachable:
        assert guardian is not None and address is not None
        await enqueue(session, address=address, kind=MessageKind.INBOX_RELAY, ref=f"inbox:{item.id}",
                      cycle=f"r{message.id}", lane=LANE_URGENT, due_at=now, now=now, guardian_id=guardian.id,
                      cohort_id=item.cohort_id,
                      payload={"item_id": item.id, "message_id": message.id,
                               "director": staff.display_name if staff else None, "text": text,
                               "from_address": voice[0] if voice else None,
                               "from_message_id": voice[1] if voice else None})
    await _timeline(session, item=item, message=message, now=now)
    audit.record(session, staff_id=scope.staff_id, action="create", entity="inbox_reply", entity_id=item.id,
                 cohort_id=item.cohort_id, now=now, message_id=message.id)
    await session.flush()
    if cards:
        await cards_changed(session, item=item, now=now)
    return message


# ---------------------------------------------------------------- the cards on the phones


async def card_messages(session: AsyncSession, *, item_id: int) -> list[tuple[str, str, str, int | None, int]]:
    """(chat id, card message id, staff locale, staff id, the message it carried) of every card
    of this item sent to staff."""
    rows = await session.execute(
        select(Delivery.address, Delivery.provider_message_id, Staff.locale, Delivery.staff_id, Delivery.payload)
        .join(Staff, Staff.id == Delivery.staff_id)
        .where(Delivery.kind == MessageKind.INBOX_FORWARD, Delivery.ref == f"inbox:{item_id}",
               Delivery.provider_message_id.is_not(None))
        .order_by(Delivery.id)
    )
    return [(address, message_id, locale, staff_id, int((payload or {}).get("message_id") or 0))
            for address, message_id, locale, staff_id, payload in rows]


async def _signature(session: AsyncSession, item: InboxItem) -> str:
    """What a card shows, in a few characters: a new edit is queued only when it changed."""
    rows = (await session.execute(select(InboxMessage.id, InboxMessage.status)
                                  .where(InboxMessage.item_id == item.id))).all()
    marks = "".join(s[0] for _, s in sorted(rows))
    return f"{item.state[0]}{int(item.call_noted_at is not None)}{item.child_id or 0}-{len(rows)}{marks}"[:40]


async def cards_changed(session: AsyncSession, *, item: InboxItem, now: datetime) -> int:
    """Every card of this item on the staff's phones will show where it stands now (an edit,
    through the outbox on lane 0) — so a second director sees at once that the first was done."""
    cycle = await _signature(session, item)
    queued = 0
    for address, message_id, _locale, staff_id, carried in await card_messages(session, item_id=item.id):
        if await enqueue(session, address=address, kind=MessageKind.INBOX_UPDATE, ref=f"inbox:{item.id}:{message_id}",
                         cycle=cycle, lane=LANE_URGENT, due_at=now, now=now, cohort_id=item.cohort_id,
                         staff_id=staff_id, payload={"item_id": item.id, "message_id": message_id,
                                                     "carried": carried}):
            queued += 1
    return queued


# ---------------------------------------------------------------- what the sender learnt


async def forward_result(session: AsyncSession, *, message_id: int | None, shown: bool, now: datetime) -> None:
    """A card went out; the adapter copied the guardian's message above it (shown) or refused to
    (too large, unsupported, gone): then the message is "could not be shown" and the guardian is
    told, kindly and once, what to do."""
    message = await session.get(InboxMessage, message_id) if message_id else None
    if message is None:
        return
    if shown:
        if message.status == FORWARDED:
            message.status = SHOWN
        return
    first = message.status != NOT_SHOWN
    message.status = NOT_SHOWN
    if first:
        await tell_not_shown(session, message=message, now=now)
        item = await session.get(InboxItem, message.item_id)
        if item is not None:
            await cards_changed(session, item=item, now=now)


async def forward_elsewhere(session: AsyncSession, *, message_id: int | None, now: datetime) -> int:
    """A director's chat refused the card (blocked the bot) or it failed for good: the message
    goes to whoever can be reached now — the other directors already have it (the same key), and
    with no director left, the supervisors, then the admins."""
    message = await session.get(InboxMessage, message_id) if message_id else None
    item = await session.get(InboxItem, message.item_id) if message is not None else None
    if message is None or item is None:
        return 0
    await session.flush()
    queued = 0
    people = await _recipients(session, cohort_id=item.cohort_id)
    addresses = await first_addresses(session, staff_ids=[p.id for p in people])
    for person in people:
        if person.id not in addresses:
            continue
        if await enqueue(session, address=addresses[person.id], kind=MessageKind.INBOX_FORWARD, ref=f"inbox:{item.id}",
                         cycle=f"m{message.id}", lane=LANE_URGENT, due_at=now, now=now, cohort_id=item.cohort_id,
                         staff_id=person.id, payload={"item_id": item.id, "message_id": message.id}):
            queued += 1
    return queued


async def tell_not_shown(session: AsyncSession, *, message: InboxMessage, now: datetime) -> None:
    guardian = await session.get(Guardian, message.guardian_id) if message.guardian_id else None
    if guardian is None:
        return
    # Where their message came from (a voice note's channel), else wherever they are reached.
    address = message.address or await first_address(session, guardian_id=guardian.id)
    if address is None:
        return
    await enqueue(session, address=address, kind=MessageKind.INBOX_NOTICE, ref=f"inbox-message:{message.id}", cycle="1",
                  lane=LANE_URGENT, due_at=now, now=now, guardian_id=guardian.id,
                  payload={"item_id": message.item_id, "message_id": message.id})


async def relay_result(session: AsyncSession, *, message_id: int | None, delivered: bool, now: datetime) -> None:
    """A reply reached the guardian, or could not (blocked, gone): the director's card says so."""
    message = await session.get(InboxMessage, message_id) if message_id else None
    if message is None or message.direction != "out":
        return
    message.status = DELIVERED if delivered else UNDELIVERED
    if not delivered:
        item = await session.get(InboxItem, message.item_id)
        if item is not None:
            await session.flush()
            await cards_changed(session, item=item, now=now)


# ---------------------------------------------------------------- the tick: digest and escalation


def digest_moment(cohort: Cohort, now: datetime) -> tuple[datetime, str] | None:
    """Today's digest time in the cohort's zone (UTC) and the day, once it has come."""
    tz = ZoneInfo(cohort.timezone or "Asia/Shanghai")
    local = now.astimezone(tz)
    try:
        at = parse_hhmm(cohort.inbox_digest or DEFAULT_DIGEST)
    except ValueError:
        at = parse_hhmm(DEFAULT_DIGEST)
    moment = local.replace(hour=at.hour, minute=at.minute, second=0, microsecond=0)
    if local < moment:
        return None
    return moment, local.date().isoformat()


async def plan_digests(session: AsyncSession, *, now: datetime) -> int:
    """Once a day, at the cohort's `inbox_digest` time: one message to each director listing the
    items nobody has read yet. Lane 1: a reminder, not news — each item already reached the
    phone on lane 0 when it came. The delivery key (chat, kind, cohort, day) makes it once a day."""
    queued = 0
    for cohort in (await session.scalars(select(Cohort).order_by(Cohort.id))).all():
        due = digest_moment(cohort, now)
        if due is None:
            continue
        moment, day = due
        ids = list((await session.scalars(select(InboxItem.id).where(
            InboxItem.cohort_id == cohort.id, InboxItem.state != DONE, InboxItem.read_at.is_(None),
            InboxItem.created_at <= moment).order_by(InboxItem.created_at, InboxItem.id).limit(50))).all())
        if not ids:
            continue
        sent_any = False
        people = await notify.reachable_staff(session, cohort_id=cohort.id, role=StaffRole.director)
        addresses = await first_addresses(session, staff_ids=[p.id for p in people])
        for person in people:
            if person.id not in addresses:
                continue
            if await enqueue(session, address=addresses[person.id], kind=MessageKind.INBOX_DIGEST, ref=f"cohort:{cohort.id}",
                             cycle=day, lane=LANE_CHECKIN, due_at=now, now=now, cohort_id=cohort.id,
                             staff_id=person.id, payload={"item_ids": ids, "day": day}):
                queued += 1
                sent_any = True
        if sent_any:
            for item in (await session.scalars(select(InboxItem).where(InboxItem.id.in_(ids)))).all():
                item.digested_at = item.digested_at or now
    return queued


async def escalate_waiting(session: AsyncSession, *, now: datetime, limit: int = 100) -> int:
    """Items nobody marked done within 72 h escalate like a yellow alert: the alert (about the
    child, else the household) goes to the directors and, through the ladder, to the supervisors
    now and the admins after the yellow period."""
    items = (await session.scalars(select(InboxItem).where(
        InboxItem.state != DONE, InboxItem.escalation_alert_id.is_(None), InboxItem.created_at <= now - DONE_WITHIN)
        .order_by(InboxItem.created_at, InboxItem.id).limit(limit).with_for_update(skip_locked=True))).all()
    for item in items:
        cohort = await session.get(Cohort, item.cohort_id)
        locale = pick_locale(cohort.default_locale if cohort else None)
        subject = (AlertSubject(subject_key=f"child:{item.child_id}", cohort_id=item.cohort_id,
                                household_id=item.household_id, child_id=item.child_id)
                   if item.child_id else
                   AlertSubject(subject_key=f"household:{item.household_id}", cohort_id=item.cohort_id,
                                household_id=item.household_id))
        raised = await raising.raise_alert(
            session, subject=subject, source=INBOX_SOURCE, source_version=0, rule_id=NOT_DONE_RULE,
            severity="yellow", audience="child", reason=localized(NOT_DONE_REASONS, locale, default=""),
            evidence={"inbox_item_id": item.id}, seen=("inbox_item_ids", item.id), check_in_id=None, now=now,
        )
        item.escalation_alert_id = raised.alert.id
        if raised.alert.status == ALERT_OPEN and raised.alert.escalation_level == 0:
            # The directors had the item for 72 h: the supervisors hear of it now.
            await notify.escalate(session, alert=raised.alert, now=now, why="inbox_not_done")
    return len(items)


async def run_inbox_tick(session: AsyncSession, *, now: datetime) -> dict[str, int]:
    return {"asked": await expire_questions(session, now=now), "digests": await plan_digests(session, now=now),
            "escalated": await escalate_waiting(session, now=now)}
