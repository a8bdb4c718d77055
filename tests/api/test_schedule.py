"""A cohort's lesson schedule: set with PATCH (strictly validated), read with its next slot, and
used by the planner."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.delivery.planning import plan_due_lessons
from core.models import Delivery
from tests.api.helpers import ADMIN, World, create_cohort

MON_THU_8PM = {"days": ["mon", "thu"], "time": "20:00"}


async def test_director_sets_the_schedule_and_reads_the_next_slot(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/cohorts/{world.a.cohort_id}"
    empty = (await client.get(f"{url}/schedule", headers=world.a.director_auth)).json()
    assert empty == {"cohort_id": world.a.cohort_id, "timezone": "Asia/Shanghai", "lesson_schedule": {},
                     "next_lesson_at": None, "next_lesson_local": None}

    response = await client.patch(url, json={"lesson_schedule": {"days": ["thu", "mon"], "time": "20:00"}},
                                  headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    assert response.json()["lesson_schedule"] == MON_THU_8PM  # kept in week order

    # Now is Monday 12:00 in Shanghai: the next slot is tonight at 20:00.
    schedule = (await client.get(f"{url}/schedule", headers=world.a.supervisor_auth)).json()
    assert schedule == {"cohort_id": world.a.cohort_id, "timezone": "Asia/Shanghai", "lesson_schedule": MON_THU_8PM,
                        "next_lesson_at": "2026-11-23T12:00:00Z", "next_lesson_local": "2026-11-23T20:00:00+08:00"}

    await client.patch(url, json={"timezone": "Asia/Urumqi", "lesson_schedule": {"days": ["sun"], "time": "09:30"}},
                       headers=ADMIN)
    schedule = (await client.get(f"{url}/schedule", headers=ADMIN)).json()
    assert schedule["next_lesson_at"] == "2026-11-29T03:30:00Z"
    assert schedule["next_lesson_local"] == "2026-11-29T09:30:00+06:00"

    # {} stops the lessons; other fields leave the schedule alone.
    await client.patch(url, json={"region": "Guizhou"}, headers=ADMIN)
    assert (await client.get(url, headers=ADMIN)).json()["lesson_schedule"] == {"days": ["sun"], "time": "09:30"}
    await client.patch(url, json={"lesson_schedule": {}}, headers=ADMIN)
    assert (await client.get(f"{url}/schedule", headers=ADMIN)).json()["next_lesson_at"] is None


async def test_schedule_given_at_creation(client: httpx.AsyncClient) -> None:
    cohort = await create_cohort(client, "Scheduled", lesson_schedule={"days": ["sat"], "time": "00:00"})
    assert cohort["lesson_schedule"] == {"days": ["sat"], "time": "00:00"}
    assert (await create_cohort(client, "Default"))["lesson_schedule"] == {}


BAD_SCHEDULES = [
    ({"days": [], "time": "20:00"}, "body.lesson_schedule.days", "at least 1 item"),
    ({"days": ["mon", "mon"], "time": "20:00"}, "body.lesson_schedule.days", "has duplicates"),
    ({"days": ["funday"], "time": "20:00"}, "body.lesson_schedule.days.0", "Input should be 'mon'"),
    ({"days": "mon", "time": "20:00"}, "body.lesson_schedule.days", "valid list"),
    ({"days": ["mon"], "time": "24:00"}, "body.lesson_schedule.time", "HH:MM from 00:00 to 23:59"),
    ({"days": ["mon"], "time": "8:00"}, "body.lesson_schedule.time", "HH:MM"),
    ({"days": ["mon"], "time": "20:60"}, "body.lesson_schedule.time", "HH:MM"),
    ({"days": ["mon"]}, "body.lesson_schedule.time", "Field required"),
    ({"time": "20:00"}, "body.lesson_schedule.days", "Field required"),
    ({"days": ["mon"], "time": "20:00", "every": 2}, "body.lesson_schedule.every", "Extra inputs"),
    (None, "body.lesson_schedule", "use {} for no lessons"),
    ("mon 20:00", "body.lesson_schedule", "valid dictionary"),
]


@pytest.mark.parametrize(("schedule", "field", "reason"), BAD_SCHEDULES)
async def test_bad_schedules_are_422_naming_the_field(
    client: httpx.AsyncClient, world: World, schedule: object, field: str, reason: str
) -> None:
    for method, url, extra in (("PATCH", f"/api/v1/cohorts/{world.a.cohort_id}", {}),
                               ("POST", "/api/v1/cohorts", {"name": "New"})):
        response = await client.request(method, url, json={**extra, "lesson_schedule": schedule},
                                        headers=world.a.director_auth if method == "PATCH" else ADMIN)
        assert response.status_code == 422, (method, response.text)
        problems = response.json()["error"]["fields"]
        assert problems[0]["field"] == field and reason in problems[0]["reason"], problems
    assert (await client.get(f"/api/v1/cohorts/{world.a.cohort_id}", headers=ADMIN)).json()["lesson_schedule"] == {}


async def test_schedule_access(client: httpx.AsyncClient, world: World) -> None:
    a, b = f"/api/v1/cohorts/{world.a.cohort_id}", f"/api/v1/cohorts/{world.b.cohort_id}"
    body = {"lesson_schedule": MON_THU_8PM}
    assert (await client.patch(a, json=body, headers=world.a.supervisor_auth)).status_code == 403
    assert (await client.patch(b, json=body, headers=world.a.director_auth)).status_code == 404
    assert (await client.get(f"{b}/schedule", headers=world.a.director_auth)).status_code == 404
    assert (await client.get(f"{b}/schedule", headers=world.a.supervisor_auth)).status_code == 404
    assert (await client.get(f"{a}/schedule")).status_code == 401
    assert (await client.get("/api/v1/cohorts/999/schedule", headers=ADMIN)).status_code == 404


async def test_the_planner_follows_a_schedule_set_over_http(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    # Monday 12:00 local is now: this slot is due at once, for cohort A's guardian only.
    await client.patch(f"/api/v1/cohorts/{world.a.cohort_id}", json={"lesson_schedule": {"days": ["mon"], "time": "12:00"}},
                       headers=world.a.director_auth)
    assert await plan_due_lessons(sessionmaker, now=clock()) == 1
    async with sessionmaker() as session:
        rows = (await session.scalars(select(Delivery))).all()
    assert [(r.guardian_id, r.kind, r.cycle) for r in rows] == [(world.a.household["guardian_id"], "lesson",
                                                                 "2026-11-23T12:00")]
