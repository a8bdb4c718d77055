"""SMS notices over the database: the per-number limits (the provider's own flow control,
mirrored so we never hit it), quiet hours, one row per SMS with its segments and the provider's
id, delivery receipts, the channel's standing problem for /healthz, and segments and cost per
cohort. Services take the session and `now` and never commit; `deliver_notice` is the one
orchestration that owns its transactions, so no lock is held while the provider answers."""
from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case, delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.delivery.schedule import QuietHours, next_allowed, parse_hhmm
from core.models import ChannelProblem, Cohort, Guardian, Household, SmsMessage
from core.sms.notices import IGNORES_QUIET_HOURS, Notice, check_params, template_for
from core.sms.port import NoticeGateway, NoticeOutcome

CHANNEL = "sms"
# Per number, as the provider enforces for the same number by default: 1 a minute, 5 an hour,
# 10 a day. Keeping under them means a guardian's code is never refused by the provider.
NUMBER_LIMITS = ((timedelta(minutes=1), 1), (timedelta(hours=1), 5), (timedelta(days=1), 10))
COUNTED = ("sending", "sent", "delivered", "undelivered")


class NoticeDeferred(Exception):
    """Not now: the number's limit is reached, or the guardian's quiet hours. `until` says when."""

    def __init__(self, reason: str, until: datetime) -> None:
        super().__init__(reason)
        self.reason = reason
        self.until = until


async def number_free_at(session: AsyncSession, *, phone_hash: str, now: datetime) -> datetime | None:
    """When this number may get its next SMS, or None if now."""
    latest: datetime | None = None
    for window, allowed in NUMBER_LIMITS:
        times = (await session.scalars(
            select(SmsMessage.created_at)
            .where(SmsMessage.phone_hash == phone_hash, SmsMessage.state.in_(COUNTED),
                   SmsMessage.created_at > now - window)
            .order_by(SmsMessage.created_at.desc())
        )).all()
        if len(times) >= allowed:
            free = times[allowed - 1] + window  # the oldest send that still counts ages out
            latest = free if latest is None or free > latest else latest
    return latest


def quiet_until(guardian: Guardian | None, *, cohort_tz: str | None, now: datetime) -> datetime | None:
    if guardian is None:
        return None
    tz = ZoneInfo(guardian.timezone or cohort_tz or "Asia/Shanghai")
    allowed = next_allowed(QuietHours(parse_hhmm(guardian.quiet_start), parse_hhmm(guardian.quiet_end)), tz, now)
    return None if allowed <= now else allowed


@dataclass(frozen=True)
class Prepared:
    message_id: int
    notice: Notice


async def prepare_notice(
    session: AsyncSession, *, kind: str, phone: str, phone_hash: str, params: dict[str, str],
    templates: dict[str, dict[str, str]], sign_name: str, now: datetime, guardian: Guardian | None = None,
    cohort_id: int | None = None, delivery_id: int | None = None,
) -> Prepared:
    """Check the notice may go (parameters, quiet hours, the number's limits) and write its row
    ('sending'). NoticeRefused for a notice that may never go; NoticeDeferred for one that may later."""
    template = template_for(templates, kind)
    checked = check_params(kind, params)
    if kind not in IGNORES_QUIET_HOURS:
        cohort_tz = await session.scalar(select(Cohort.timezone).where(Cohort.id == cohort_id)) if cohort_id else None
        if (until := quiet_until(guardian, cohort_tz=cohort_tz, now=now)) is not None:
            raise NoticeDeferred("quiet_hours", until)
    if (free := await number_free_at(session, phone_hash=phone_hash, now=now)) is not None:
        raise NoticeDeferred("number_limit", free)
    notice = Notice(kind=kind, phone=phone, sign_name=sign_name, template=template, params=checked,
                    out_id=secrets.token_hex(12))
    row = SmsMessage(out_id=notice.out_id, kind=kind, phone_hash=phone_hash,
                     guardian_id=guardian.id if guardian else None, cohort_id=cohort_id, delivery_id=delivery_id,
                     template_code=template.code, segments=notice.segments, state="sending", created_at=now)
    session.add(row)
    await session.flush()
    return Prepared(row.id, notice)


async def record_outcome(session: AsyncSession, *, message_id: int, outcome: NoticeOutcome, now: datetime) -> None:
    row = await session.get(SmsMessage, message_id)
    if row is None:
        return
    row.provider_id = outcome.provider_id
    row.error = outcome.error
    if outcome.status == "sent":
        row.state, row.sent_at = "sent", now
        await session.execute(delete(ChannelProblem).where(ChannelProblem.channel == CHANNEL))
    else:
        # Not billed: the provider refused it. It no longer counts toward the number's limits.
        row.state = {"blocked": "blocked", "rate_limited": "rate_limited"}.get(outcome.status, "failed")
        row.segments = 0
    if outcome.problem:
        await note_problem(session, code=outcome.error or "unknown", detail=outcome.problem, now=now)
    await session.flush()


async def note_problem(session: AsyncSession, *, code: str, detail: str, now: datetime) -> None:
    problem = await session.get(ChannelProblem, CHANNEL)
    if problem is None:
        session.add(ChannelProblem(channel=CHANNEL, code=code[:48], detail=detail[:200], since=now))
    elif problem.code != code[:48]:
        problem.code, problem.detail, problem.since = code[:48], detail[:200], now


async def channel_problems(session: AsyncSession) -> dict[str, dict[str, Any]]:
    """{channel: {code, detail, since}} for /healthz."""
    rows = (await session.scalars(select(ChannelProblem).order_by(ChannelProblem.channel))).all()
    return {p.channel: {"code": p.code, "detail": p.detail, "since": p.since.isoformat()} for p in rows}


@dataclass(frozen=True)
class Receipt:
    """A delivery report as the provider pushes it (Aliyun SmsReport), reduced to what we keep."""

    provider_id: str
    out_id: str | None
    delivered: bool
    code: str  # DELIVERED, or the carrier's error code
    segments: int | None
    reported_at: datetime


async def record_receipts(session: AsyncSession, *, receipts: list[Receipt], now: datetime) -> int:
    """Store receipts by the provider's id (and our OutId, which must agree). Pushes are retried
    and may repeat: a receipt already recorded changes nothing. Returns how many were new."""
    new = 0
    for receipt in receipts:
        row = await session.scalar(select(SmsMessage).where(SmsMessage.provider_id == receipt.provider_id)
                                   .order_by(SmsMessage.id).limit(1))
        if row is None or (receipt.out_id and receipt.out_id != row.out_id) or row.receipt_at is not None:
            continue
        row.state = "delivered" if receipt.delivered else "undelivered"
        row.receipt_code = receipt.code[:40]
        row.receipt_at = receipt.reported_at
        if receipt.segments:
            row.segments = receipt.segments  # the provider's count is what is billed
        new += 1
    await session.flush()
    return new


@dataclass(frozen=True)
class CohortSmsCost:
    cohort_id: int | None
    messages: int
    segments: int
    delivered: int
    cost: float  # RMB


async def cost_by_cohort(session: AsyncSession, *, since: datetime, until: datetime,
                         price: float) -> list[CohortSmsCost]:
    """Billed SMS (handed to the provider) per cohort in [since, until): messages, segments,
    delivered, and cost at `price` per segment. Sign-in codes count to the guardian's cohort."""
    cohort = func.coalesce(SmsMessage.cohort_id, Household.cohort_id)
    rows = await session.execute(
        select(cohort, func.count(), func.sum(SmsMessage.segments),
               func.sum(case((SmsMessage.state == "delivered", 1), else_=0)))
        .outerjoin(Guardian, Guardian.id == SmsMessage.guardian_id)
        .outerjoin(Household, Household.id == Guardian.household_id)
        .where(SmsMessage.created_at >= since, SmsMessage.created_at < until,
               SmsMessage.state.in_(("sent", "delivered", "undelivered")))
        .group_by(cohort).order_by(cohort)
    )
    return [CohortSmsCost(cid, n, int(segs or 0), int(delivered or 0), round(int(segs or 0) * price, 4))
            for cid, n, segs, delivered in rows]


async def deliver_notice(
    sessionmaker: async_sessionmaker[AsyncSession], gateway: NoticeGateway, *, now: datetime, **prepare: Any,
) -> NoticeOutcome:
    """Prepare (committed), hand to the provider with no transaction open, record the outcome
    (committed). Raises NoticeRefused / NoticeDeferred before anything is sent."""
    async with sessionmaker() as session, session.begin():
        guardian_id = prepare.pop("guardian_id", None)
        guardian = await session.get(Guardian, guardian_id) if guardian_id else None
        prepared = await prepare_notice(session, guardian=guardian, now=now, **prepare)
    try:
        outcome = await gateway.send_notice(prepared.notice)
    except Exception as exc:  # noqa: BLE001 — whatever the adapter raised, the row must not stay 'sending'
        outcome = NoticeOutcome(status="transient", error=type(exc).__name__)
    async with sessionmaker() as session, session.begin():
        await record_outcome(session, message_id=prepared.message_id, outcome=outcome, now=now)
    return outcome
