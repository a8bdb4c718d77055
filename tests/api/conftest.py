"""API test fixtures: the app from the production factory, a client, and a small world of two
cohorts with their staff and households. Runs on every engine the root conftest provides."""
from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from api.main import create_app
from core.clock import FrozenClock
from core.config import Settings
from tests.api.helpers import Side, World, add_household, create_cohort, create_staff


@pytest.fixture
def app(settings: Settings, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> FastAPI:
    return create_app(settings=settings, sessionmaker=sessionmaker, clock=clock)


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as client:
        yield client


@pytest.fixture
async def world(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> World:
    sides = []
    for name in ("Village A", "Village B"):
        cohort = await create_cohort(client, name)
        director = await create_staff(client, "director", [cohort["id"]], f"Director {name}",
                                      primary_cohort_ids=[cohort["id"]])
        supervisor = await create_staff(client, "supervisor", [cohort["id"]], f"Supervisor {name}")
        household = await add_household(sessionmaker, clock, cohort["id"])
        sides.append(Side(cohort=cohort, director=director, supervisor=supervisor, household=household))
    return World(a=sides[0], b=sides[1])
