"""The director's actions driven without any adapter (core.flows.director): the question the
phone or a console page asked — how they got in touch, where they referred the child, how it
ended, a note — and the note go in; what was done comes out as plain data. Resolving the last
alert closes the case and schedules the follow-up check-in (core.flows.cases)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope
from core.alerts.prompts import set_prompt
from core.alerts.raising import AlertSubject, raise_alert
from core.clock import FrozenClock
from core.flows import director
from core.models import Alert, Case, CaseEvent, CheckIn, Staff, StaffCohort, StaffPrompt
from core.models.enums import StaffRole
from tests.core.checkin_fixtures import seed_village


async def _world(session: AsyncSession, clock: FrozenClock):  # type: ignore[no-untyped-def]
    v = await seed_village(session, now=clock())
    staff = Staff(display_name="王主任", role="director", token_hash="w" * 64, locale="zh-Hans", active=True,
                  is_bootstrap=False, created_at=clock())
    session.add(staff)
    await session.flush()
    session.add(StaffCohort(staff_id=staff.id, cohort_id=v.cohort.id, is_primary=True))
    raised = await raise_alert(
        session, subject=AlertSubject(f"child:{v.older.id}", v.cohort.id, v.home_a.id, child_id=v.older.id),
        source="weekly_checkin", source_version=2, rule_id="low_mood", severity="yellow", audience="child",
        reason="r", evidence={"answers": {}}, seen=("check_in_ids", 1), check_in_id=None, now=clock())
    scope = Scope(staff_id=staff.id, role=StaffRole.director, cohort_ids=frozenset({v.cohort.id}))
    return staff, raised.alert, scope


async def test_a_visit_then_resolving_closes_the_case_with_a_follow_up(session: AsyncSession,
                                                                        clock: FrozenClock) -> None:
    staff, alert, scope = await _world(session, clock)
    prompt = await set_prompt(session, staff_id=staff.id, address="telegram:7001", kind="contact", now=clock(),
                              alert_id=alert.id, data={"method": "visit"})
    done = await director.carry_out(session, scope=scope, prompt=prompt, note="孩子很好", now=clock())
    assert (done.kind, done.method, done.case_id, done.alert_id) == ("contact", "visit", alert.case_id, alert.id)
    assert await session.scalar(select(StaffPrompt)) is None  # the question is answered
    kinds = [e.kind for e in (await session.scalars(select(CaseEvent).order_by(CaseEvent.id))).all()]
    assert "contact" in kinds

    prompt = await set_prompt(session, staff_id=staff.id, address="telegram:7001", kind="resolve", now=clock(),
                              alert_id=alert.id, data={"outcome": "safe_now"})
    done = await director.carry_out(session, scope=scope, prompt=prompt, note=None, now=clock())
    assert (done.kind, done.case_closed) == ("resolved", True)
    assert done.followup_due is not None and done.followup_due.utcoffset() is not None  # the cohort's clock
    case = await session.get(Case, alert.case_id)
    assert case is not None and case.status == "closed"
    followups = (await session.scalars(select(CheckIn).where(CheckIn.case_id == case.id))).all()
    assert followups and (await session.get(Alert, alert.id)).status == "resolved"  # type: ignore[union-attr]


async def test_a_case_note_needs_words(session: AsyncSession, clock: FrozenClock) -> None:
    staff, alert, scope = await _world(session, clock)
    prompt = await set_prompt(session, staff_id=staff.id, address="telegram:7001", kind="note", now=clock(),
                              case_id=alert.case_id)
    empty = await director.carry_out(session, scope=scope, prompt=prompt, note=None, now=clock())
    assert empty.kind == "note_needed"
    assert await session.scalar(select(StaffPrompt)) is not None  # still waiting for the note
    noted = await director.carry_out(session, scope=scope, prompt=prompt, note="下周再去一次", now=clock())
    assert (noted.kind, noted.case_id) == ("note", alert.case_id)
    assert await session.scalar(select(StaffPrompt)) is None
