"""Delivery statistics of a cohort, on a known fixture with exact numbers; scoped like the cohort."""
from __future__ import annotations

from datetime import datetime, timezone

import httpx
import pytest
from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.config import PROJECT_ROOT
from core.content.loader import check_content
from core.models import Guardian, LessonFeedback
from tests.api.helpers import ADMIN, World, add_household, delivery

pytestmark = pytest.mark.usefixtures("loaded_content")

SINCE = datetime(2026, 11, 1, tzinfo=timezone.utc)
UNTIL = datetime(2026, 11, 23, tzinfo=timezone.utc)
IN = datetime(2026, 11, 10, tzinfo=timezone.utc)
BEFORE = datetime(2026, 10, 15, tzinfo=timezone.utc)
PERIOD = {"since": SINCE.isoformat(), "until": UNTIL.isoformat()}
TITLES = {x.id: {loc: t.title for loc, t in x.texts.items()} for x in check_content(PROJECT_ROOT / "content")[0].lessons}


def states(**counts: int) -> dict[str, int]:
    return {s: counts.get(s, 0) for s in ("pending", "sending", "sent", "failed", "blocked", "cancelled", "skipped")}


async def seed(world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    a, b = world.a.cohort_id, world.b.cohort_id
    g0 = world.a.household["guardian_id"]
    g1 = (await add_household(sessionmaker, clock, a))["guardian_id"]
    g2 = (await add_household(sessionmaker, clock, a))["guardian_id"]
    gb = world.b.household["guardian_id"]
    async with sessionmaker() as session, session.begin():
        for guardian_id, at in ((g0, IN), (g1, BEFORE), (gb, IN)):
            await session.execute(update(Guardian).where(Guardian.id == guardian_id).values(unreachable_at=at))

        def lesson(lesson_id: str, guardian_id: int, at: datetime = IN, cohort_id: int = a):  # type: ignore[no-untyped-def]
            return delivery(created_at=at, cohort_id=cohort_id, guardian_id=guardian_id, lesson_id=lesson_id,
                            lesson_version=1)

        d1, d2 = lesson("after_parent_leaves", g0), lesson("after_parent_leaves", g1)
        d3, d4 = lesson("specific_praise", g2), lesson("one_on_one_time", g0)
        d5 = lesson("one_on_one_time", g1, at=SINCE)  # the period includes its start…
        at_until = lesson("specific_praise", g2, at=UNTIL)  # …and excludes its end
        old = lesson("naming_feelings", g0, at=BEFORE)
        in_b = lesson("after_parent_leaves", gb, cohort_id=b)
        rows = [d1, d2, d3, d4, d5, at_until, old, in_b, lesson("after_parent_leaves", gb, cohort_id=b)]
        for state, n in (("failed", 1), ("blocked", 1), ("skipped", 1), ("pending", 1), ("cancelled", 2),
                         ("sending", 1)):
            rows += [delivery(created_at=IN, cohort_id=a, state=state) for _ in range(n)]
        for kind, state, n in (("lesson_followup", "sent", 2), ("lesson_followup", "pending", 1),
                               ("lesson_followup", "cancelled", 1), ("campaign", "sent", 3),
                               ("campaign", "blocked", 1)):
            rows += [delivery(created_at=IN, cohort_id=a, kind=kind, state=state) for _ in range(n)]
        session.add_all(rows)
        await session.flush()

        def answer(d, question: str, value: str, at: datetime = IN, cohort_id: int = a):  # type: ignore[no-untyped-def]
            return LessonFeedback(delivery_id=d.id, guardian_id=d.guardian_id, cohort_id=cohort_id,
                                  lesson_id=d.lesson_id, lesson_version=1, question=question, answer=value,
                                  answered_at=at)

        session.add_all([
            answer(d1, "helpful", "yes"), answer(d1, "tried", "yes"),
            answer(d2, "helpful", "no"), answer(d2, "tried", "not_yet"),
            answer(d3, "tried", "yes"),
            answer(d4, "helpful", "yes"),
            answer(d5, "helpful", "yes"), answer(d5, "tried", "no"),
            answer(old, "helpful", "yes"),  # an older lesson answered in the period counts
            answer(old, "tried", "no", at=BEFORE),  # an answer before the period does not
            answer(in_b, "helpful", "no", cohort_id=b),
        ])


def lesson_stats(lesson_id: str, sent: int, helpful: tuple[int, int], tried: tuple[int, int, int]) -> dict:
    return {"lesson_id": lesson_id, "titles": TITLES[lesson_id], "sent": sent,
            "helpful": dict(zip(("yes", "no"), helpful)), "tried": dict(zip(("yes", "not_yet", "no"), tried))}


async def test_stats_on_a_known_fixture(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await seed(world, sessionmaker, clock)
    response = await client.get(f"/api/v1/cohorts/{world.a.cohort_id}/deliveries/stats", params=PERIOD,
                                headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    assert response.json() == {
        "cohort_id": world.a.cohort_id,
        "since": "2026-11-01T00:00:00Z",
        "until": "2026-11-23T00:00:00Z",
        "deliveries": {
            "lesson": states(sent=5, failed=1, blocked=1, skipped=1, pending=1, cancelled=2, sending=1),
            "lesson_followup": states(sent=2, pending=1, cancelled=1),
            "campaign": states(sent=3, blocked=1),
        },
        "totals": states(sent=10, failed=1, blocked=2, skipped=1, pending=2, cancelled=3, sending=1),
        "guardians": {"marked_unreachable": 1, "unreachable_now": 2},
        "feedback": {"helpful": {"yes": 4, "no": 1}, "tried": {"yes": 2, "not_yet": 1, "no": 1}},
        "lessons": [
            lesson_stats("after_parent_leaves", 2, (1, 1), (1, 1, 0)),
            lesson_stats("one_on_one_time", 2, (2, 0), (0, 0, 1)),
            lesson_stats("specific_praise", 1, (0, 0), (1, 0, 0)),
            lesson_stats("naming_feelings", 0, (1, 0), (0, 0, 0)),
        ],
    }

    top = await client.get(f"/api/v1/cohorts/{world.a.cohort_id}/deliveries/stats", params={**PERIOD, "top": 2},
                           headers=world.a.supervisor_auth)
    assert [x["lesson_id"] for x in top.json()["lessons"]] == ["after_parent_leaves", "one_on_one_time"]


async def test_empty_period_and_default_period(client: httpx.AsyncClient, world: World) -> None:
    body = (await client.get(f"/api/v1/cohorts/{world.b.cohort_id}/deliveries/stats", headers=ADMIN)).json()
    assert (body["since"], body["until"]) == ("2026-10-24T04:00:00Z", "2026-11-23T04:00:00Z")  # the last 30 days
    assert body["totals"] == states() and body["lessons"] == []
    assert body["feedback"] == {"helpful": {"yes": 0, "no": 0}, "tried": {"yes": 0, "not_yet": 0, "no": 0}}
    assert set(body["deliveries"]) == {"lesson", "lesson_followup", "campaign"}


async def test_stats_are_scoped_like_the_cohort(client: httpx.AsyncClient, world: World) -> None:
    url = f"/api/v1/cohorts/{world.b.cohort_id}/deliveries/stats"
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        response = await client.get(url, headers=auth)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert (await client.get(url, headers=world.b.supervisor_auth)).status_code == 200
    assert (await client.get(url)).status_code == 401
    assert (await client.get("/api/v1/cohorts/999/deliveries/stats", headers=ADMIN)).status_code == 404


@pytest.mark.parametrize(
    ("params", "field"),
    [({"since": "2026-11-01T00:00:00"}, "query.since"), ({"until": "yesterday"}, "query.until"),
     ({"top": 0}, "query.top"), ({"top": 101}, "query.top")],
)
async def test_bad_periods_are_422(client: httpx.AsyncClient, world: World, params: dict, field: str) -> None:
    response = await client.get(f"/api/v1/cohorts/{world.a.cohort_id}/deliveries/stats", params=params,
                                headers=ADMIN)
    assert response.status_code == 422
    assert [f["field"] for f in response.json()["error"]["fields"]] == [field]


async def test_since_must_be_before_until(client: httpx.AsyncClient, world: World) -> None:
    response = await client.get(f"/api/v1/cohorts/{world.a.cohort_id}/deliveries/stats", headers=ADMIN,
                                params={"since": UNTIL.isoformat(), "until": SINCE.isoformat()})
    assert response.status_code == 422 and response.json()["error"]["field"] == "since"
