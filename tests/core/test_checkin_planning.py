"""Planning check-ins: one per child (or guardian) per cycle, the right respondents, and a
second planning call that adds nothing."""
from __future__ import annotations

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from core.checkin.service import load_questionnaires, open_checkins_for_cohort
from core.clock import FrozenClock
from core.config import PROJECT_ROOT
from core.catalog.loading import load_content
from core.content.loader import check_content
from core.delivery.outbox import LANE_CHECKIN
from core.errors import Conflict
from core.models import CheckIn, Delivery, Questionnaire
from tests.core.checkin_fixtures import seed_village


async def _recipients(session: AsyncSession) -> dict[int, set[str]]:
    """check-in id → addresses asked"""
    out: dict[int, set[str]] = {}
    for d in (await session.scalars(select(Delivery).where(Delivery.kind == "checkin"))).all():
        out.setdefault(d.payload["checkin_id"], set()).add(d.address)
    return out


async def test_psc17_one_checkin_per_child_of_age_and_the_right_respondents(
    session: AsyncSession, clock: FrozenClock
) -> None:
    v = await seed_village(session, now=clock())
    first = await open_checkins_for_cohort(session, cohort_id=v.cohort.id, questionnaire_id="psc17",
                                           cycle="2026-11", now=clock())
    assert (first.checkins, first.deliveries) == (2, 3)
    checkins = {c.child_id: c for c in (await session.scalars(select(CheckIn))).all()}
    assert set(checkins) == {v.older.id, v.child_b.id}  # the 2-year-old is below PSC-17's 4–16
    asked = await _recipients(session)
    # Household A: only the grandmother, who lives with the child; household B: nobody lives
    # with the child, so both parents are asked.
    assert asked[checkins[v.older.id].id] == {v.grandma.address}
    assert asked[checkins[v.child_b.id].id] == {v.mum_b.address, v.dad_b.address}
    deliveries = (await session.scalars(select(Delivery))).all()
    assert {(d.kind, d.lane, d.cycle) for d in deliveries} == {("checkin", LANE_CHECKIN, "2026-11")}
    assert {d.ref for d in deliveries} == {f"checkin:{c.id}" for c in checkins.values()}
    c = checkins[v.older.id]
    assert (c.state, c.cursor, c.questionnaire_version, c.household_id) == ("open", 0, 2, v.home_a.id)
    assert c.expires_at - c.due_at == __import__("datetime").timedelta(days=3)

    # A second tick, a restart: nothing new.
    again = await open_checkins_for_cohort(session, cohort_id=v.cohort.id, questionnaire_id="psc17",
                                           cycle="2026-11", now=clock())
    assert (again.checkins, again.deliveries) == (0, 0)
    assert len((await session.scalars(select(CheckIn))).all()) == 2
    # The next cycle is a new check-in.
    later = await open_checkins_for_cohort(session, cohort_id=v.cohort.id, questionnaire_id="psc17",
                                           cycle="2026-12", now=clock())
    assert later.checkins == 2


async def test_weekly_checkin_covers_every_child(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    result = await open_checkins_for_cohort(session, cohort_id=v.cohort.id, questionnaire_id="weekly_checkin",
                                            cycle="2026-W48", now=clock())
    assert result.checkins == 3
    children = set((await session.scalars(select(CheckIn.child_id))).all())
    assert children == {v.older.id, v.baby.id, v.child_b.id}


async def test_who5_one_per_guardian(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    v.dad_b.status = "stopped"  # said STOP: never asked
    await session.flush()
    result = await open_checkins_for_cohort(session, cohort_id=v.cohort.id, questionnaire_id="who5",
                                            cycle="2026-Q4", now=clock())
    assert (result.checkins, result.deliveries) == (3, 3)
    rows = (await session.scalars(select(CheckIn))).all()
    assert {c.subject_guardian_id for c in rows} == {v.grandma.id, v.father.id, v.mum_b.id}
    assert all(c.child_id is None for c in rows)
    asked = await _recipients(session)
    assert all(asked[c.id] == {g.address} for c in rows for g in (v.grandma, v.father, v.mum_b)
               if g.id == c.subject_guardian_id)
    again = await open_checkins_for_cohort(session, cohort_id=v.cohort.id, questionnaire_id="who5",
                                           cycle="2026-Q4", now=clock())
    assert (again.checkins, again.deliveries) == (0, 0)


async def test_questionnaires_load_with_content_and_versions_are_immutable(
    session: AsyncSession, clock: FrozenClock, tmp_path
) -> None:  # type: ignore[no-untyped-def]
    counts = await load_content(session, root=PROJECT_ROOT / "content", now=clock())
    assert counts["questionnaires"] == 3
    assert (await load_content(session, root=PROJECT_ROOT / "content", now=clock()))["questionnaires"] == 0
    stored = (await session.scalars(select(Questionnaire).order_by(Questionnaire.id))).all()
    assert [(q.id, q.version, q.subject) for q in stored] == [("psc17", 2, "child"), ("weekly_checkin", 2, "child"),
                                                             ("who5", 2, "self")]
    bundle, _ = check_content(PROJECT_ROOT / "content")
    psc17 = next(q for q in bundle.questionnaires if q.id == "psc17")
    changed = psc17.model_copy(update={"invalid_from_blanks": 5})
    with pytest.raises(Conflict, match=r"^questionnaires/psc17\.yaml: version: changed"):
        await load_questionnaires(session, questionnaires=[changed], now=clock())
