"""Staff send a check-in now — to a household, a child or a cohort — with the same rows and rules
as the calendar's: one per child per cycle (an ad-hoc cycle), the reason recorded, audited,
scoped (another cohort's household is not found)."""
from __future__ import annotations

from zoneinfo import ZoneInfo

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.models import AuditLog, CheckIn, CheckInRound, Delivery
from tests.api.checkin_data import load_shipped_questionnaires
from tests.api.helpers import ADMIN, World, add_household

WHY = {"reason": "电话里奶奶说孩子这几天不吃饭"}


@pytest.fixture(autouse=True)
async def loaded(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await load_shipped_questionnaires(sessionmaker, clock)


async def _rows(sessionmaker: async_sessionmaker[AsyncSession], model: type, *where: object) -> list:
    async with sessionmaker() as session:
        return list((await session.scalars(select(model).where(*where))).all())


async def test_a_check_in_sent_now_to_one_household_reaches_only_that_household(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    two_children = await add_household(sessionmaker, clock, world.a.cohort_id,
                                       children=(("Dabao", 2016, 1), ("Erbao", 2019, 7)))
    other = world.a.household  # same cohort, not asked

    response = await client.post(f"/api/v1/households/{two_children['id']}/checkins/send-now", json=WHY,
                                 headers=world.a.director_auth)

    assert response.status_code == 201, response.text
    body = response.json()
    local_day = clock().astimezone(ZoneInfo(world.a.cohort["timezone"])).date()  # the cohort's own day
    assert body["checkins"] == 2 and body["deliveries"] == 2 and body["already_open"] == 0
    assert body["cycle"] == f"adhoc:{local_day.isoformat()}:household:{two_children['id']}"
    checkins = await _rows(sessionmaker, CheckIn)
    assert sorted(c.child_id for c in checkins) == sorted(two_children["child_ids"])  # type: ignore[type-var]
    assert {c.questionnaire_id for c in checkins} == {"weekly_checkin"}
    deliveries = await _rows(sessionmaker, Delivery)
    assert {d.address for d in deliveries} == {two_children["address"]}
    assert other["address"] not in {d.address for d in deliveries}
    assert {(d.kind, d.lane, d.due_at) for d in deliveries} == {("checkin", 1, clock())}
    [round_] = await _rows(sessionmaker, CheckInRound)
    assert (round_.reason, round_.requested_by_staff_id, round_.checkins) == (
        WHY["reason"], world.a.director["id"], 2)
    [entry] = await _rows(sessionmaker, AuditLog, AuditLog.action == "send_checkin")
    assert (entry.entity, entry.entity_id, entry.staff_id) == ("household", two_children["id"], world.a.director["id"])
    assert entry.detail["reason"] == WHY["reason"] and entry.detail["checkins"] == 2


async def test_twice_the_same_day_sends_once_and_open_check_ins_are_not_doubled(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    url = f"/api/v1/children/{world.a.child_id}/checkins/send-now"
    first = await client.post(url, json=WHY, headers=world.a.director_auth)
    again = await client.post(url, json=WHY, headers=world.a.director_auth)
    assert first.status_code == 201 and again.status_code == 200
    assert again.json()["already_sent"] is True and again.json()["checkins"] == 0

    # The household (the same child) the same day: a new ad-hoc cycle, but the child's check-in is open.
    household = await client.post(f"/api/v1/households/{world.a.household['id']}/checkins/send-now", json=WHY,
                                   headers=world.a.director_auth)
    assert household.status_code == 201
    assert household.json()["checkins"] == 0 and household.json()["already_open"] == 1
    assert len(await _rows(sessionmaker, CheckIn)) == 1
    assert len(await _rows(sessionmaker, Delivery)) == 1


async def test_a_whole_cohort_and_only_that_cohort(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    extra = await add_household(sessionmaker, clock, world.a.cohort_id)
    response = await client.post(f"/api/v1/cohorts/{world.a.cohort_id}/checkins/send-now", json=WHY, headers=ADMIN)
    assert response.status_code == 201 and response.json()["checkins"] == 2
    chats = {d.address for d in await _rows(sessionmaker, Delivery)}
    assert chats == {world.a.household["address"], extra["address"]}


async def test_scoped_refused_and_checked(client: httpx.AsyncClient, world: World) -> None:
    director_a = world.a.director_auth
    for url in (f"/api/v1/households/{world.b.household['id']}/checkins/send-now",
                f"/api/v1/children/{world.b.child_id}/checkins/send-now",
                f"/api/v1/cohorts/{world.b.cohort_id}/checkins/send-now",
                "/api/v1/households/999999/checkins/send-now"):
        response = await client.post(url, json=WHY, headers=director_a)
        assert response.status_code == 404, (url, response.text)
    own = f"/api/v1/households/{world.a.household['id']}/checkins/send-now"
    assert (await client.post(own, json=WHY, headers=world.a.supervisor_auth)).status_code == 403
    assert (await client.post(own, json={"reason": "  "}, headers=director_a)).status_code == 422
    assert (await client.post(own, json={}, headers=director_a)).status_code == 422
    assert (await client.post(own, json={**WHY, "questionnaire_id": "nope"}, headers=director_a)).status_code == 404
    about_self = await client.post(f"/api/v1/children/{world.a.child_id}/checkins/send-now",
                                   json={**WHY, "questionnaire_id": "who5"}, headers=director_a)
    assert about_self.status_code == 422
    who5 = await client.post(own, json={**WHY, "questionnaire_id": "who5"}, headers=director_a)
    assert who5.status_code == 201 and who5.json()["checkins"] == 1  # one per guardian of the household
