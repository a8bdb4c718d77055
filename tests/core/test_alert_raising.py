"""Raising alerts over the database: a new alert opens its child's case and is announced; repeats
join the open alert and case; and the de-duplicating INSERT keeps working on a long-lived
PostgreSQL connection (prepared statements switch to a generic plan after five runs)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.alerts.raising import AlertSubject, raise_alert
from core.clock import FrozenClock
from core.models import Alert, Case, CaseEvent, Delivery, Staff, StaffCohort
from tests.core.checkin_fixtures import seed_village
from tests.endpoints import reach, tg


async def _raise(session: AsyncSession, subject: AlertSubject, seen: int, clock: FrozenClock, severity: str = "yellow"):  # type: ignore[no-untyped-def]
    return await raise_alert(session, subject=subject, source="weekly_checkin", source_version=2, rule_id="low_mood",
                             severity=severity, audience="child", reason="r", evidence={"answers": {"mood": 2}},
                             seen=("check_in_ids", seen), check_in_id=None, now=clock())


async def test_many_alerts_on_one_connection(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    subjects = [AlertSubject(f"child:{1000 + i}", v.cohort.id, v.home_a.id) for i in range(8)]
    for i, subject in enumerate(subjects):  # eight new alerts, then eight repeats: all on one connection
        assert (await _raise(session, subject, i, clock)).new
    for i, subject in enumerate(subjects):
        assert not (await _raise(session, subject, 100 + i, clock)).new
    alerts = (await session.scalars(select(Alert).order_by(Alert.id))).all()
    assert len(alerts) == 8 and {a.occurrences for a in alerts} == {2}
    cases = (await session.scalars(select(Case))).all()
    assert len(cases) == 8 and {c.status for c in cases} == {"open"}
    assert {a.case_id for a in alerts} == {c.id for c in cases}
    kinds = sorted(e.kind for e in (await session.scalars(select(CaseEvent))).all())
    assert kinds.count("alert") == 8 and kinds.count("alert_repeat") == 8


async def test_a_second_reason_for_the_same_child_joins_the_same_case(session: AsyncSession,
                                                                       clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    director = Staff(display_name="王主任", role="director", token_hash="x" * 64,
                     locale="zh-Hans", active=True, is_bootstrap=False, created_at=clock())
    session.add(director)
    await reach(session, director, 9001, now=clock())
    session.add(StaffCohort(staff_id=director.id, cohort_id=v.cohort.id, is_primary=True))
    await session.flush()
    subject = AlertSubject(f"child:{v.older.id}", v.cohort.id, v.home_a.id, child_id=v.older.id)
    first = await _raise(session, subject, 1, clock)
    other = await raise_alert(session, subject=subject, source="psc17", source_version=2,
                              rule_id="internalising_positive", severity="orange", audience="child", reason="r",
                              evidence={}, seen=("check_in_ids", 2), check_in_id=None, now=clock())
    assert other.new and other.alert.id != first.alert.id
    assert other.alert.case_id == first.alert.case_id
    # Each is announced to the director; the orange one has the shorter deadline: 24 h against 72 h.
    notices = (await session.scalars(select(Delivery).where(Delivery.kind == "alert"))).all()
    assert sorted((d.address, d.payload["alert_id"]) for d in notices) == [(tg(9001), first.alert.id),
                                                                           (tg(9001), other.alert.id)]
    case = await session.get(Case, first.alert.case_id)
    assert case is not None and case.responsible_staff_id == director.id
    assert (other.alert.escalate_at - other.alert.created_at).total_seconds() == 24 * 3600
    assert (first.alert.escalate_at - first.alert.created_at).total_seconds() == 72 * 3600
