"""The lesson library over HTTP: everyone reads, admins write; an edit is a new version and the
old one stays exactly as it was; retired lessons are no longer chosen."""
from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.catalog.service import LessonPlanner
from core.clock import FrozenClock
from core.config import PROJECT_ROOT
from core.content.loader import check_content
from core.delivery.outbox import lessons_by_key
from tests.api.helpers import ADMIN, World, delivery, lesson_body

SHIPPED, _ = check_content(PROJECT_ROOT / "content")


def fields(response: httpx.Response) -> list[str]:
    return [f["field"] for f in response.json()["error"]["fields"]]


@pytest.mark.usefixtures("loaded_content")
async def test_everyone_lists_the_latest_lessons_with_filters(client: httpx.AsyncClient, world: World) -> None:
    for auth in (ADMIN, world.a.director_auth, world.b.supervisor_auth):
        listed = (await client.get("/api/v1/lessons", headers=auth)).json()
        assert [lesson["id"] for lesson in listed] == sorted(lesson.id for lesson in SHIPPED.lessons)
    assert len(listed) == 44
    assert {(lesson["id"], lesson["version"]) for lesson in listed} == {(x.id, x.version) for x in SHIPPED.lessons}

    cases = [
        ({"audience": "migrant_parent"}, lambda x: "migrant_parent" in x.audience),
        ({"age_band": "0-2"}, lambda x: "0-2" in x.age_bands),
        ({"topic": "safety"}, lambda x: "safety" in x.topics),
        ({"audience": "guardian", "age_band": "13-17"}, lambda x: "guardian" in x.audience and "13-17" in x.age_bands),
    ]
    for params, keep in cases:
        listed = (await client.get("/api/v1/lessons", params=params, headers=ADMIN)).json()
        expected = sorted(lesson.id for lesson in SHIPPED.lessons if keep(lesson))
        assert expected and [lesson["id"] for lesson in listed] == expected, params


@pytest.mark.parametrize(
    ("params", "field"),
    [({"audience": "teacher"}, "query.audience"), ({"age_band": "5-9"}, "query.age_band"),
     ({"topic": "Bad Tag"}, "query.topic"), ({"include_retired": "maybe"}, "query.include_retired")],
)
async def test_bad_filters_are_422(client: httpx.AsyncClient, params: dict, field: str) -> None:
    response = await client.get("/api/v1/lessons", params=params, headers=ADMIN)
    assert response.status_code == 422 and fields(response) == [field]


@pytest.mark.usefixtures("loaded_content")
async def test_read_a_lesson_and_its_versions(client: httpx.AsyncClient) -> None:
    lesson = (await client.get("/api/v1/lessons/after_parent_leaves", headers=ADMIN)).json()
    assert lesson["version"] == 1 and lesson["texts"]["zh-Hans"]["title"] == "爸妈刚走的那几天"
    assert lesson["retired_at"] is None
    assert (await client.get("/api/v1/lessons/after_parent_leaves/versions/1", headers=ADMIN)).json() == lesson
    for url in ("/api/v1/lessons/no_such_lesson", "/api/v1/lessons/after_parent_leaves/versions/2"):
        response = await client.get(url, headers=ADMIN)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    for url, field in (("/api/v1/lessons/Bad-Id", "path.lesson_id"),
                       ("/api/v1/lessons/after_parent_leaves/versions/0", "path.version")):
        response = await client.get(url, headers=ADMIN)
        assert response.status_code == 422 and fields(response) == [field]


async def test_lessons_need_a_token(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/lessons")).status_code == 401
    assert (await client.post("/api/v1/lessons", json=lesson_body())).status_code == 401


async def test_admin_creates_a_lesson_once(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/lessons", json=lesson_body(), headers=ADMIN)
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["id"] == "praise_the_deed" and created["version"] == 1
    assert created["loaded_at"] == "2026-11-23T04:00:00Z"
    assert (await client.get("/api/v1/lessons/praise_the_deed", headers=ADMIN)).json() == created

    again = await client.post("/api/v1/lessons", json=lesson_body(), headers=ADMIN)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_exists"


async def test_only_admins_write_lessons(client: httpx.AsyncClient, world: World) -> None:
    await client.post("/api/v1/lessons", json=lesson_body(), headers=ADMIN)
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        for method, url, body in (("POST", "/api/v1/lessons", lesson_body("other")),
                                  ("PUT", "/api/v1/lessons/praise_the_deed", lesson_body(topics=["x"])),
                                  ("POST", "/api/v1/lessons/praise_the_deed/retire", None)):
            response = await client.request(method, url, json=body, headers=auth)
            assert response.status_code == 403, (method, url)
    lesson = (await client.get("/api/v1/lessons/praise_the_deed", headers=world.a.director_auth)).json()
    assert lesson["version"] == 1 and lesson["retired_at"] is None


def _texts(locale: str, **text: str) -> dict:
    body = lesson_body()
    body["texts"][locale].update(text)
    return body["texts"]


@pytest.mark.parametrize(
    ("changes", "field", "reason"),
    [
        ({"version": 1}, "body.version", "Extra inputs are not permitted"),
        ({"colour": "red"}, "body.colour", "Extra inputs are not permitted"),
        ({"id": "Praise"}, "body.id", "String should match pattern"),
        ({"audience": ["teacher"]}, "body.audience.0", "Input should be 'guardian' or 'migrant_parent'"),
        ({"age_bands": []}, "body.age_bands", "at least 1 item"),
        ({"topics": ["Bad Tag"]}, "body.topics", "tags must be lowercase"),
        ({"source": "short"}, "body.source", "at least 10 characters"),
        ({"texts": _texts("zh-Hans", body="长" * 151)}, "body.texts.zh-Hans.body", "151 characters, at most 150"),
        ({"texts": _texts("en", title="one two three four five six seven eight nine ten eleven twelve thirteen")},
         "body.texts.en.title", "13 words, at most 12"),
        ({"texts": {"zh-Hans": lesson_body()["texts"]["zh-Hans"]}}, "body.texts", "missing locale en"),
        ({"texts": {**lesson_body()["texts"], "fr": lesson_body()["texts"]["en"]}}, "body.texts", "unknown locale fr"),
        ({"media": {"image": "../../var/shouwang.db"}}, "body.media.image", "String should match pattern"),
        ({"media": {"video": "a.mp4"}}, "body.media.video", "Extra inputs are not permitted"),
    ],
)
async def test_lessons_are_validated_like_content_files(
    client: httpx.AsyncClient, changes: dict, field: str, reason: str
) -> None:
    response = await client.post("/api/v1/lessons", json=lesson_body(**changes), headers=ADMIN)
    assert response.status_code == 422, response.text
    problem = response.json()["error"]["fields"][0]
    assert fields(response) == [field] and reason in problem["reason"]


async def test_media_must_exist_under_the_content_media_folder(
    client: httpx.AsyncClient, app: FastAPI, tmp_path: Path
) -> None:
    media = tmp_path / "content" / "media"
    media.mkdir(parents=True)
    (media / "praise.png").write_bytes(b"\x89PNG")
    app.state.settings = app.state.settings.model_copy(update={"content_dir": tmp_path / "content"})

    response = await client.post("/api/v1/lessons", headers=ADMIN,
                                 json=lesson_body(media={"image": "praise.png", "voice": "praise_zh.ogg"}))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["field"] == "media.voice"
    assert error["fields"] == [{"field": "media.voice", "reason": "file not found: media/praise_zh.ogg"}]

    response = await client.post("/api/v1/lessons", json=lesson_body(media={"image": "praise.png"}), headers=ADMIN)
    assert response.status_code == 201, response.text
    assert response.json()["media"] == {"image": "praise.png", "voice": None, "audio": None}

    # A recording per locale for the mobile pages: it must be there, and be what its name says.
    (media / "praise.zh-Hans.mp3").write_bytes(b"<html>")
    response = await client.post("/api/v1/lessons", headers=ADMIN,
                                 json=lesson_body("praise_aloud", media={"audio": {"zh-Hans": "praise.zh-Hans.mp3"}}))
    assert response.status_code == 422 and response.json()["error"]["field"] == "media.audio.zh-Hans"


async def test_an_edit_is_a_new_version_and_the_old_one_stays(client: httpx.AsyncClient) -> None:
    v1 = (await client.post("/api/v1/lessons", json=lesson_body(), headers=ADMIN)).json()
    changed = lesson_body(texts=_texts("en", title="Praise what they did"), topics=["praise", "connection"])
    response = await client.put("/api/v1/lessons/praise_the_deed", json=changed, headers=ADMIN)
    assert response.status_code == 200, response.text
    v2 = response.json()
    assert v2["version"] == 2 and v2["texts"]["en"]["title"] == "Praise what they did"

    assert (await client.get("/api/v1/lessons/praise_the_deed/versions/1", headers=ADMIN)).json() == v1
    assert (await client.get("/api/v1/lessons/praise_the_deed", headers=ADMIN)).json() == v2
    assert [(x["id"], x["version"]) for x in (await client.get("/api/v1/lessons", headers=ADMIN)).json()] == [
        ("praise_the_deed", 2)
    ]
    # The same text again is not a new version: a retried PUT changes nothing.
    again = await client.put("/api/v1/lessons/praise_the_deed", json=changed, headers=ADMIN)
    assert again.status_code == 200 and again.json() == v2


async def test_put_errors(client: httpx.AsyncClient) -> None:
    response = await client.put("/api/v1/lessons/praise_the_deed", json=lesson_body(), headers=ADMIN)
    assert response.status_code == 404
    await client.post("/api/v1/lessons", json=lesson_body(), headers=ADMIN)
    response = await client.put("/api/v1/lessons/praise_the_deed", json=lesson_body("other_lesson"), headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "id"
    response = await client.put("/api/v1/lessons/praise_the_deed", json=lesson_body(version=2), headers=ADMIN)
    assert response.status_code == 422 and fields(response) == ["body.version"]


async def test_retiring(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/lessons", json=lesson_body(), headers=ADMIN)
    await client.post("/api/v1/lessons", json=lesson_body("second_lesson"), headers=ADMIN)
    response = await client.post("/api/v1/lessons/praise_the_deed/retire", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert response.json()["retired_at"] == "2026-11-23T04:00:00Z"

    assert [x["id"] for x in (await client.get("/api/v1/lessons", headers=ADMIN)).json()] == ["second_lesson"]
    listed = (await client.get("/api/v1/lessons", params={"include_retired": "true"}, headers=ADMIN)).json()
    assert [x["id"] for x in listed] == ["praise_the_deed", "second_lesson"]
    # Still readable: guardians who got it can reread it.
    assert (await client.get("/api/v1/lessons/praise_the_deed/versions/1", headers=ADMIN)).status_code == 200

    again = await client.post("/api/v1/lessons/praise_the_deed/retire", headers=ADMIN)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_retired"
    edit = await client.put("/api/v1/lessons/praise_the_deed", json=lesson_body(topics=["other"]), headers=ADMIN)
    assert edit.status_code == 409 and edit.json()["error"]["code"] == "retired"
    assert (await client.post("/api/v1/lessons/nope/retire", headers=ADMIN)).status_code == 404


@pytest.mark.usefixtures("loaded_content")
async def test_a_retired_lesson_is_skipped_when_choosing_the_next_one(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession]
) -> None:
    programme = (await client.get("/api/v1/programmes/guardian_3_6", headers=ADMIN)).json()
    first, second = programme["lessons"][:2]
    async with sessionmaker() as session:
        planner = await LessonPlanner.load(session)
    assert planner.next_lesson(audience="guardian", bands=["3-6"], done=set()).id == first  # type: ignore[union-attr]

    assert (await client.post(f"/api/v1/lessons/{first}/retire", headers=ADMIN)).status_code == 200
    async with sessionmaker() as session:
        planner = await LessonPlanner.load(session)
    assert planner.next_lesson(audience="guardian", bands=["3-6"], done=set()).id == second  # type: ignore[union-attr]


async def test_lesson_writes_are_audited(client: httpx.AsyncClient) -> None:
    await client.post("/api/v1/lessons", json=lesson_body(), headers=ADMIN)
    await client.post("/api/v1/lessons/praise_the_deed/retire", headers=ADMIN)
    entries = (await client.get("/api/v1/audit", params={"entity": "lesson"}, headers=ADMIN)).json()
    assert [(e["action"], e["detail"]) for e in entries] == [
        ("update", {"lesson_id": "praise_the_deed", "version": 1, "fields": ["retired_at"]}),
        ("create", {"lesson_id": "praise_the_deed", "version": 1}),
    ]


async def test_what_was_sent_keeps_pointing_at_the_version_sent(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    await client.post("/api/v1/lessons", json=lesson_body(), headers=ADMIN)
    async with sessionmaker() as session, session.begin():
        sent = delivery(created_at=clock(), lesson_id="praise_the_deed", lesson_version=1)
        session.add(sent)
    changed = lesson_body(texts=_texts("en", title="Praise what they did"))
    assert (await client.put("/api/v1/lessons/praise_the_deed", json=changed, headers=ADMIN)).json()["version"] == 2
    async with sessionmaker() as session:
        lessons = await lessons_by_key(session, deliveries=[sent])
    assert lessons[("praise_the_deed", 1)].texts["en"]["title"] == "Praise the deed"
