"""The tick's check-in work: plan each cohort's due questionnaires (once per cycle), remind the
guardians who have not finished (after 24 h, again after 48 h), and close what has expired,
telling the guardian who had started. Each step is safe to run twice or in two workers: a
round row, the unique keys of check-ins and deliveries, and row locks decide who does it."""
from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.alerts.cases import followup_finished
from core.checkin import schedule as cal
from core.checkin.rules import highest_severity
from core.checkin.service import ANSWERABLE, CHECKIN_KIND, expire_checkins, get_questionnaire, open_checkins_for_cohort
from core.db import dialect_insert
from core.delivery.outbox import LANE_CHECKIN, SENT, enqueue
from core.endpoints.service import first_address
from core.errors import NotFound
from core.models import CheckIn, CheckInRound, Cohort, Delivery, Guardian
from core.models.enums import GuardianStatus

log = logging.getLogger(__name__)

REMINDER_KIND = "checkin_reminder"
CLOSED_KIND = "checkin_closed"
# An edit of a check-in message another guardian of the household got, without content: someone
# in the family is answering (done=False) or has answered (done=True). Payload:
# {"message_id": the provider's id of the message to edit, "done": bool}.
TAKEN_KIND = "checkin_taken"


@dataclass
class TickResult:
    rounds: int = 0
    checkins: int = 0
    deliveries: int = 0
    reminders: int = 0
    expired: int = 0


async def plan_due_checkins(sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime) -> TickResult:
    """Every cohort's latest due slot per questionnaire, planned once: one short transaction per
    round. A slot missed by more than its stale limit (downtime) is skipped, never sent late."""
    result = TickResult()
    async with sessionmaker() as session:
        cohorts = [(c.id, c.timezone, c.checkin_schedule)
                   for c in (await session.scalars(select(Cohort).order_by(Cohort.id))).all() if c.checkin_schedule]
        done = set((await session.execute(
            select(CheckInRound.cohort_id, CheckInRound.questionnaire_id, CheckInRound.cycle)
            .where(CheckInRound.slot_at >= now - timedelta(days=120))  # a quarter and a bit: every live slot
        )).all())
    for cohort_id, timezone, spec in cohorts:
        tz = ZoneInfo(timezone)
        for questionnaire_id, rule in cal.parse_schedule(spec).items():
            slot = cal.latest_slot(rule, tz, now)
            if slot is None or now - slot > cal.stale_after(rule):
                continue
            cycle = cal.cycle_key(rule, slot, tz)
            if (cohort_id, questionnaire_id, cycle) in done:
                continue
            async with sessionmaker() as session, session.begin():
                planned = await plan_round(session, cohort_id=cohort_id, questionnaire_id=questionnaire_id,
                                           cycle=cycle, slot=slot, rule=rule, now=now)
            if planned is not None:
                result.rounds += 1
                result.checkins += planned.checkins
                result.deliveries += planned.deliveries
    return result


async def plan_round(session: AsyncSession, *, cohort_id: int, questionnaire_id: str, cycle: str, slot: datetime,
                     rule: cal.CheckinSlotRule, now: datetime) -> CheckInRound | None:
    """Claim the round (cohort, questionnaire, cycle) and open its check-ins. None when another
    tick got there first, or the questionnaire is not in use (retired or not loaded)."""
    try:
        q = await get_questionnaire(session, questionnaire_id=questionnaire_id)
    except NotFound:
        log.warning("cohort %s schedules questionnaire %r, which is not loaded or retired", cohort_id,
                    questionnaire_id)
        return None
    new_id = (await session.execute(
        dialect_insert(session, CheckInRound)
        .values(cohort_id=cohort_id, questionnaire_id=q.id, questionnaire_version=q.version, cycle=cycle,
                slot_at=slot, planned_at=now, checkins=0, deliveries=0)
        .on_conflict_do_nothing(index_elements=["cohort_id", "questionnaire_id", "cycle"])
        .returning(CheckInRound.id)
    )).scalar()
    if new_id is None:
        return None
    opened = await open_checkins_for_cohort(session, cohort_id=cohort_id, questionnaire_id=q.id, cycle=cycle,
                                            now=now, due_at=slot, expires_after=rule.expires_after)
    row = await session.get(CheckInRound, new_id)
    assert row is not None
    row.checkins, row.deliveries = opened.checkins, opened.deliveries
    return row


async def _sent_to(session: AsyncSession, checkin_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """check-in id → (address, guardian id) of everyone its first message reached."""
    rows = await session.execute(
        select(Delivery.ref_id, Delivery.address, Delivery.guardian_id)
        .where(Delivery.ref_kind == "checkin", Delivery.ref_id.in_(checkin_ids), Delivery.kind == CHECKIN_KIND,
               Delivery.state == SENT, Delivery.guardian_id.is_not(None))
    )
    out: dict[int, list[tuple[str, int]]] = {}
    for checkin_id, address, guardian_id in rows:
        if checkin_id is not None and guardian_id is not None:  # always, by the query
            out.setdefault(checkin_id, []).append((address, guardian_id))
    return out


async def plan_reminders(session: AsyncSession, *, now: datetime, limit: int = 2000) -> int:
    """A gentle reminder 24 h after a check-in went out and a second after 48 h, to whoever is
    answering it, or else to everyone it reached. After downtime only the latest reminder goes
    (never two at once). Returns reminders enqueued."""
    checkins = (await session.scalars(
        select(CheckIn)
        .where(CheckIn.state.in_(ANSWERABLE), CheckIn.expires_at > now,
               CheckIn.reminded_count < cal.MAX_REMINDERS, CheckIn.due_at <= now - cal.REMINDER_EVERY)
        .order_by(CheckIn.due_at, CheckIn.id).limit(limit).with_for_update(skip_locked=True)
    )).all()
    if not checkins:
        return 0
    reached = await _sent_to(session, [c.id for c in checkins])
    guardian_ids = {g for pairs in reached.values() for _, g in pairs}
    guardians = {g.id: g for g in (await session.scalars(select(Guardian).where(Guardian.id.in_(guardian_ids)))).all()}
    added = 0
    for checkin in checkins:
        due_count = min(cal.MAX_REMINDERS, int((now - checkin.due_at) / cal.REMINDER_EVERY))
        if due_count <= checkin.reminded_count:
            continue
        checkin.reminded_count = due_count
        recipients = reached.get(checkin.id, [])
        if checkin.claimed_by_guardian_id is not None:
            recipients = [(c, g) for c, g in recipients if g == checkin.claimed_by_guardian_id]
        for address, guardian_id in recipients:
            guardian = guardians.get(guardian_id)
            if guardian is None or guardian.status == GuardianStatus.stopped or guardian.unreachable_at:
                continue
            if await enqueue(session, address=address, kind=REMINDER_KIND, ref=f"checkin:{checkin.id}",
                             cycle=f"r{due_count}", lane=LANE_CHECKIN, due_at=now, now=now, guardian_id=guardian_id,
                             cohort_id=checkin.cohort_id, payload={"checkin_id": checkin.id, "reminder": due_count}):
                added += 1
    await session.flush()
    return added


async def close_expired(session: AsyncSession, *, now: datetime) -> int:
    """Expire what is past its time (scored as far as answered; missed cycles counted), and tell
    the guardian who had started it, so nobody is left wondering where their questions went."""
    results = await expire_checkins(session, now=now)
    for done in results:
        c = done.checkin
        if c.case_id is not None:
            await followup_finished(session, checkin=c, rules=[f.rule_id for f in done.fired],
                                    severity=highest_severity(done.fired), now=now)
        if c.claimed_by_guardian_id is None:
            continue
        guardian = await session.get(Guardian, c.claimed_by_guardian_id)
        if guardian is None or guardian.status == GuardianStatus.stopped:
            continue
        address = await first_address(session, guardian_id=guardian.id)
        if address is None:
            continue
        await enqueue(session, address=address, kind=CLOSED_KIND, ref=f"checkin:{c.id}", cycle="1",
                      lane=LANE_CHECKIN, due_at=now, now=now, guardian_id=guardian.id, cohort_id=c.cohort_id,
                      payload={"checkin_id": c.id})
    return len(results)


async def run_checkin_tick(sessionmaker: async_sessionmaker[AsyncSession], *, now: datetime) -> TickResult:
    result = await plan_due_checkins(sessionmaker, now=now)
    async with sessionmaker() as session, session.begin():
        result.reminders = await plan_reminders(session, now=now)
    async with sessionmaker() as session, session.begin():
        result.expired = await close_expired(session, now=now)
    return result
