"""The per-token scope cache (api.deps.AuthCache, issue #16): a token's staff member and scope
are remembered for at most a second, so a change made elsewhere (another process, the bot, the
CLI) takes effect within it, and one made through this API takes effect at once. The list
routes read no staff row and load no ORM object per item: their statement count does not grow
with the page."""
from __future__ import annotations

from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import delete, event, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from core.models import Staff, StaffCohort
from core.security import hash_secret
from tests.api.helpers import ADMIN, World, add_household


class Timer:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def timed(app: FastAPI) -> Timer:
    timer = Timer()
    app.state.auth_cache.timer = timer
    return timer


async def test_a_deactivation_through_the_api_takes_effect_at_once(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    timed(app)  # the cache's time stands still: only the clearing can end the entry
    url = f"/api/v1/alerts?cohort_id={world.a.cohort_id}"
    assert (await client.get(url, headers=world.a.director_auth)).status_code == 200
    staff_id = world.a.director["id"]
    response = await client.patch(f"/api/v1/staff/{staff_id}", json={"active": False}, headers=ADMIN)
    assert response.status_code == 200
    assert (await client.get(url, headers=world.a.director_auth)).status_code == 401


async def test_a_deactivation_elsewhere_takes_effect_within_a_second(
    app: FastAPI, client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    timer = timed(app)
    url = f"/api/v1/cohorts/{world.a.cohort_id}/households"
    assert (await client.get(url, headers=world.a.director_auth)).status_code == 200
    async with sessionmaker() as session, session.begin():  # as another process would
        await session.execute(update(Staff).where(Staff.id == world.a.director["id"]).values(active=False))
    timer.now += 0.999  # still the entry read a moment before the change
    assert (await client.get(url, headers=world.a.director_auth)).status_code == 200
    timer.now += 0.001  # one second after it was read from the database: read again
    assert (await client.get(url, headers=world.a.director_auth)).status_code == 401


async def test_a_cohort_taken_away_elsewhere_is_not_found_within_a_second(
    app: FastAPI, client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    timer = timed(app)
    url = f"/api/v1/cohorts/{world.a.cohort_id}/households"
    assert (await client.get(url, headers=world.a.director_auth)).status_code == 200
    async with sessionmaker() as session, session.begin():
        await session.execute(delete(StaffCohort).where(StaffCohort.staff_id == world.a.director["id"]))
    timer.now += 1.0
    assert (await client.get(url, headers=world.a.director_auth)).status_code == 404


async def test_the_cache_never_mixes_tokens_and_keeps_no_token(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    timed(app)
    for side in (world.a, world.b):
        assert (await client.get(f"/api/v1/cohorts/{side.cohort_id}/households",
                                 headers=side.director_auth)).status_code == 200
    # Each director still sees only their own cohort, cached or not.
    assert (await client.get(f"/api/v1/cohorts/{world.b.cohort_id}/households",
                             headers=world.a.director_auth)).status_code == 404
    assert (await client.get(f"/api/v1/cohorts/{world.a.cohort_id}/households",
                             headers=world.b.director_auth)).status_code == 404
    keys = set(app.state.auth_cache._entries)
    token = world.a.director["credentials"]["api_token"]
    assert hash_secret(token) in keys and token not in keys


async def test_a_zero_cache_time_reads_the_token_every_time(
    app: FastAPI, client: httpx.AsyncClient, world: World
) -> None:
    app.state.auth_cache.seconds = 0
    assert (await client.get(f"/api/v1/cohorts/{world.a.cohort_id}/households",
                             headers=world.a.director_auth)).status_code == 200
    assert app.state.auth_cache._entries == {}


def _counting(sessionmaker: async_sessionmaker[AsyncSession]) -> list[str]:
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement)

    event.listen(sessionmaker.kw["bind"].sync_engine, "before_cursor_execute", count)
    return seen


async def test_list_statements_do_not_grow_with_the_page(
    app: FastAPI, client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession],
    clock: FrozenClock,
) -> None:
    """No N+1 and no lazy load: a page of one household and a page of six cost the same
    statements (the page, its guardians, its children, the audit row)."""
    timed(app)  # a slow machine must not expire the entry between the requests
    for _ in range(5):
        await add_household(sessionmaker, clock, world.a.cohort_id, children=(("A", 2015, 1), ("B", 2017, 2)))
    seen = _counting(sessionmaker)
    url = f"/api/v1/cohorts/{world.a.cohort_id}/households"
    await client.get(url, headers=world.a.director_auth)  # the cache filled
    counts = []
    for limit in (1, 6):
        seen.clear()
        response = await client.get(f"{url}?limit={limit}", headers=world.a.director_auth)
        assert len(response.json()) == limit
        counts.append(len(seen))
    assert counts[0] == counts[1]
    # The scope came from the cache: no staff row, no cohort memberships read.
    assert not any("FROM staff" in s or "FROM staff_cohorts" in s for s in seen)
    for path in (f"/api/v1/alerts?cohort_id={world.a.cohort_id}", f"/api/v1/cases?cohort_id={world.a.cohort_id}"):
        seen.clear()
        assert (await client.get(path, headers=world.a.director_auth)).status_code == 200
        assert not any("FROM staff" in s for s in seen)
