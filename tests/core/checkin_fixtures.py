"""Shared set-up for the check-in tests: the shipped questionnaires loaded, and a small cohort.

Household A: a grandmother who lives with the children and a father who works away; an
8-year-old (PSC-17 age) and a 2-year-old (too young for PSC-17). Household B: two parents who
both work away (nobody lives with the child), one 10-year-old.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from core.checkin.service import load_questionnaires
from core.config import PROJECT_ROOT
from core.content.loader import check_content
from core.models import Child, Cohort, Guardian, Household
from tests.endpoints import reach, tg


async def load_shipped_questionnaires(session: AsyncSession, *, now: datetime) -> None:
    bundle, problems = check_content(PROJECT_ROOT / "content")
    assert problems == []
    await load_questionnaires(session, questionnaires=bundle.questionnaires, now=now)


@dataclass
class Village:
    cohort: Cohort
    home_a: Household
    grandma: Guardian
    father: Guardian
    older: Child  # 8
    baby: Child  # 2
    home_b: Household
    mum_b: Guardian
    dad_b: Guardian
    child_b: Child  # 10


def _guardian(household: Household, chat_id: int, relationship: str, lives: bool, now: datetime) -> Guardian:
    guardian = Guardian(household_id=household.id, locale="zh-Hans", relationship=relationship,
                    lives_with_children=lives, status="active", consent_version=1, consented_at=now,
                    created_at=now, updated_at=now)
    guardian.address = tg(chat_id)  # type: ignore[attr-defined]  # its endpoint, added once it has an id
    return guardian


def _child(household: Household, nickname: str, year: int, month: int, now: datetime) -> Child:
    return Child(household_id=household.id, nickname=nickname, birth_year=year, birth_month=month,
                 created_at=now, updated_at=now)


async def seed_village(session: AsyncSession, *, now: datetime) -> Village:
    await load_shipped_questionnaires(session, now=now)
    cohort = Cohort(name="测试村", region="", timezone="Asia/Shanghai", default_locale="zh-Hans",
                    lesson_schedule={}, checkin_schedule={}, created_at=now)
    session.add(cohort)
    await session.flush()
    home_a, home_b = Household(cohort_id=cohort.id, created_at=now), Household(cohort_id=cohort.id, created_at=now)
    session.add_all([home_a, home_b])
    await session.flush()
    grandma = _guardian(home_a, 101, "grandmother", True, now)
    father = _guardian(home_a, 102, "father", False, now)
    mum_b = _guardian(home_b, 201, "mother", False, now)
    dad_b = _guardian(home_b, 202, "father", False, now)
    older = _child(home_a, "小明", 2018, 3, now)
    baby = _child(home_a, "小宝", 2024, 6, now)
    child_b = _child(home_b, "小红", 2016, 1, now)
    session.add_all([grandma, father, mum_b, dad_b, older, baby, child_b])
    await session.flush()
    for guardian in (grandma, father, mum_b, dad_b):
        await reach(session, guardian, guardian.address, now=now)
    return Village(cohort, home_a, grandma, father, older, baby, home_b, mum_b, dad_b, child_b)
