"""Lesson and programme files: the shipped library passes; each broken file is reported as
`file: field: reason`, all at once, and nothing half-loads."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from core.clock import FrozenClock
from core.config import PROJECT_ROOT
from core.content.lessons import text_length
from core.catalog.loading import load_content
from core.content.loader import ContentInvalid, check_content
from core.errors import Conflict
from core.models import Lesson, Programme

SHIPPED = PROJECT_ROOT / "content"


def good_lesson(lesson_id: str = "praise") -> dict:  # type: ignore[type-arg]
    return {
        "id": lesson_id, "version": 1, "audience": ["guardian"], "age_bands": ["7-12"], "topics": ["praise"],
        "source": "Parenting for Lifelong Health, praise session", "licence": "Shouwang original text, CC BY-NC-SA 4.0",
        "texts": {
            "zh-Hans": {"title": "具体地夸", "body": "孩子做对了，说出他做对了什么。", "try_today": "今天夸一件具体的事。"},
            "en": {"title": "Praise the deed", "body": "Say exactly what they did well.", "try_today": "Praise one thing today."},
        },
    }


def good_programme(lessons: list[str]) -> dict:  # type: ignore[type-arg]
    return {"id": "guardian_7_12", "version": 1, "audience": "guardian", "age_band": "7-12",
            "titles": {"zh-Hans": "七到十二岁", "en": "Ages 7-12"}, "lessons": lessons}


def write(root: Path, folder: str, name: str, data: object) -> None:
    (root / folder).mkdir(parents=True, exist_ok=True)
    (root / folder / name).write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")


@pytest.fixture
def library(tmp_path: Path) -> Path:
    shutil.copytree(SHIPPED / "texts", tmp_path / "texts")
    write(tmp_path, "lessons", "praise.yaml", good_lesson())
    write(tmp_path, "programmes", "guardian_7_12.yaml", good_programme(["praise"]))
    return tmp_path


def test_shipped_library_is_valid_and_large_enough() -> None:
    bundle, problems = check_content(SHIPPED)
    assert problems == []
    assert len(bundle.lessons) >= 30
    assert {(p.audience, p.age_band) for p in bundle.programmes} >= {
        (a, b) for a in ("guardian", "migrant_parent") for b in ("3-6", "7-12", "13-17")
    }
    for lesson in bundle.lessons:  # every lesson names where it comes from, and its licence
        assert lesson.source.strip() and lesson.licence.strip()


def test_a_minimal_library_is_valid(library: Path) -> None:
    assert check_content(library)[1] == []


def broken(change):  # type: ignore[no-untyped-def]
    data = good_lesson()
    change(data)
    return data


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (broken(lambda d: d["texts"].pop("en")), "lessons/praise.yaml: texts: missing locale en"),
        (broken(lambda d: d.pop("source")), "lessons/praise.yaml: source: Field required"),
        (broken(lambda d: d.update(audience=["teacher"])), "lessons/praise.yaml: audience.0: Input should be 'guardian' or 'migrant_parent'"),
        (broken(lambda d: d.update(age_bands=["7-12", "7-12"])), "lessons/praise.yaml: age_bands: has duplicates"),
        (broken(lambda d: d.update(topics=["Bad Tag"])), "lessons/praise.yaml: topics: tags must be lowercase"),
        (broken(lambda d: d["texts"]["zh-Hans"].update(body="长" * 151)), "lessons/praise.yaml: texts.zh-Hans.body: 151 characters, at most 150"),
        (broken(lambda d: d["texts"]["en"].update(body="word " * 91)), "lessons/praise.yaml: texts.en.body: 91 words, at most 90"),
        (broken(lambda d: d.update(id="other")), "lessons/praise.yaml: id: must equal the file name ('praise')"),
        (broken(lambda d: d.update(colour="red")), "lessons/praise.yaml: colour: Extra inputs are not permitted"),
        (broken(lambda d: d.update(media={"image": "missing.png"})), "lessons/praise.yaml: media.image: file not found: media/missing.png"),
    ],
)
def test_broken_lessons(library: Path, data: dict, expected: str) -> None:  # type: ignore[type-arg]
    write(library, "lessons", "praise.yaml", data)
    problems = [str(p) for p in check_content(library)[1]]
    assert any(p.startswith(expected) for p in problems), problems


@pytest.mark.parametrize(
    ("lessons", "audience", "expected"),
    [
        (["praise", "nope"], "guardian", "programmes/guardian_7_12.yaml: lessons.1: unknown lesson 'nope'"),
        (["praise", "praise"], "guardian", "programmes/guardian_7_12.yaml: lessons: lesson listed twice: praise"),
        (["praise"], "migrant_parent", "programmes/guardian_7_12.yaml: lessons.0: lesson 'praise' is not for migrant_parent"),
    ],
)
def test_broken_programmes(library: Path, lessons: list[str], audience: str, expected: str) -> None:
    data = good_programme(lessons)
    data["audience"] = audience
    write(library, "programmes", "guardian_7_12.yaml", data)
    problems = [str(p) for p in check_content(library)[1]]
    assert any(p.startswith(expected) for p in problems), problems


def test_lengths_ignore_spaces_and_markup() -> None:
    assert text_length("**有危险** 马上打", "zh-Hans") == 6
    assert text_length("Say **exactly** what", "en") == 3


async def test_changed_lesson_needs_new_version_and_old_version_stays(
    library: Path, session: AsyncSession, clock: FrozenClock
) -> None:
    await load_content(session, root=library, now=clock())
    changed = good_lesson()
    changed["texts"]["en"]["title"] = "Praise what they did"
    write(library, "lessons", "praise.yaml", changed)
    with pytest.raises(Conflict, match="give it a new version"):
        await load_content(session, root=library, now=clock())
    changed["version"] = 2
    write(library, "lessons", "praise.yaml", changed)
    await load_content(session, root=library, now=clock())
    v1 = await session.get(Lesson, ("praise", 1))
    v2 = await session.get(Lesson, ("praise", 2))
    assert v1 is not None and v1.texts["en"]["title"] == "Praise the deed"
    assert v2 is not None and v2.texts["en"]["title"] == "Praise what they did"


async def test_loading_is_all_or_nothing(library: Path, session: AsyncSession, clock: FrozenClock) -> None:
    write(library, "lessons", "broken.yaml", broken(lambda d: d.update(id="broken", version=0)))
    with pytest.raises(ContentInvalid):
        await load_content(session, root=library, now=clock())
    assert await session.scalar(select(func.count()).select_from(Lesson)) == 0
    assert await session.scalar(select(func.count()).select_from(Programme)) == 0
