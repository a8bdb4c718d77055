"""Whom to call, in the API (issue #11.3): guardians' call name, phone and home on households,
the family label on alerts and cases — scoped and audited as before — and staff phone numbers
with a per-staff opt-in that staff may set themselves."""
from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.models import Alert, AuditLog, Case, Guardian
from tests.api.helpers import ADMIN, World

LABEL = "柳奶奶 · 13987654321 · 七组 老槐树下"


async def _name_the_family(sessionmaker: async_sessionmaker[AsyncSession], world: World, clock: FrozenClock) -> None:
    now = clock()
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Guardian).where(Guardian.id == world.a.household["guardian_id"])
                              .values(call_name="柳奶奶", phone="+8613987654321", village="七组 老槐树下"))
        case = Case(cohort_id=world.a.cohort_id, subject_key=f"household:{world.a.household['id']}",
                    household_id=world.a.household["id"], status="open", opened_at=now)
        session.add(case)
        await session.flush()
        session.add(Alert(subject_key=case.subject_key, household_id=case.household_id, cohort_id=case.cohort_id,
                          severity="red", audience="child", rule_id="risk_words", questionnaire_id="lexicon",
                          evidence={"categories": ["suicide"]}, reason="r", status="open", created_at=now,
                          last_seen_at=now, occurrences=1, case_id=case.id, escalate_at=now + timedelta(hours=1)))


async def test_households_alerts_and_cases_name_the_family(client: httpx.AsyncClient, world: World,
                                                           sessionmaker: async_sessionmaker[AsyncSession],
                                                           clock: FrozenClock) -> None:
    await _name_the_family(sessionmaker, world, clock)
    auth = world.a.director_auth
    [household] = (await client.get(f"/api/v1/cohorts/{world.a.cohort_id}/households", headers=auth)).json()
    [guardian] = household["guardians"]
    assert (guardian["call_name"], guardian["phone"], guardian["village"]) == ("柳奶奶", "+8613987654321", "七组 老槐树下")
    assert household["family"] == LABEL
    one = (await client.get(f"/api/v1/households/{world.a.household['id']}", headers=auth)).json()
    assert one["family"] == LABEL
    [alert] = (await client.get("/api/v1/alerts", headers=auth)).json()
    assert alert["family"] == LABEL
    assert (await client.get(f"/api/v1/alerts/{alert['id']}", headers=auth)).json()["family"] == LABEL
    [case] = (await client.get("/api/v1/cases", headers=auth)).json()
    assert case["family"] == LABEL
    assert (await client.get(f"/api/v1/cases/{case['id']}", headers=auth)).json()["case"]["family"] == LABEL
    # Scoped as before: another cohort's director finds nothing, and sees no name.
    other = world.b.director_auth
    assert (await client.get(f"/api/v1/households/{world.a.household['id']}", headers=other)).status_code == 404
    assert (await client.get(f"/api/v1/alerts/{alert['id']}", headers=other)).status_code == 404
    assert "柳奶奶" not in (await client.get("/api/v1/alerts", headers=other)).text
    # Audited as before.
    async with sessionmaker() as session:
        entities = {row.entity for row in (await session.scalars(
            select(AuditLog).where(AuditLog.staff_id == world.a.director["id"], AuditLog.action == "read"))).all()}
    assert {"household", "alert", "case"} <= entities


async def test_staff_set_their_own_phone_and_opt_in(client: httpx.AsyncClient, world: World) -> None:
    me = world.a.director
    url = f"/api/v1/staff/{me['id']}"
    response = await client.patch(url, json={"phone": "137 0000 1111", "phone_visible": True},
                                  headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    assert (response.json()["phone"], response.json()["phone_visible"]) == ("+8613700001111", True)
    # Only their own number: anything else, or anyone else's, is an admin's.
    assert (await client.patch(url, json={"display_name": "X"}, headers=world.a.director_auth)).status_code == 403
    other = f"/api/v1/staff/{world.a.supervisor['id']}"
    assert (await client.patch(other, json={"phone": "13700001111"}, headers=world.a.director_auth)).status_code == 403
    bad = await client.patch(url, json={"phone": "12345"}, headers=world.a.director_auth)
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "phone"
    cleared = await client.patch(url, json={"phone": None, "phone_visible": False}, headers=ADMIN)
    assert (cleared.json()["phone"], cleared.json()["phone_visible"]) == (None, False)
