"""Questionnaires over HTTP: everyone reads, admins write; a PUT is a new version checked like a
content file (every problem with its field), a check-in already sent keeps its version, and a
retired questionnaire is no longer sent."""
from __future__ import annotations

import copy

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.checkin.service import get_questionnaire, record_answer
from core.clock import FrozenClock
from core.errors import NotFound
from core.models import CheckIn
from tests.api.checkin_data import (
    load_questionnaires_and_lessons, open_round, questionnaire_body, shipped,
)
from tests.api.helpers import ADMIN, World

URL = "/api/v1/questionnaires"


@pytest.fixture
async def loaded(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await load_questionnaires_and_lessons(sessionmaker, clock)


def fields(response: httpx.Response) -> list[str]:
    return [f["field"] for f in response.json()["error"]["fields"]]


def renamed_title(questionnaire_id: str = "psc17", title: str = "PSC-17 (short screen)") -> dict:
    body = questionnaire_body(questionnaire_id)
    body["texts"]["en"]["title"] = title
    return body


@pytest.mark.usefixtures("loaded")
async def test_everyone_reads_the_questionnaires(client: httpx.AsyncClient, world: World) -> None:
    for auth in (ADMIN, world.a.director_auth, world.b.supervisor_auth):
        listed = (await client.get(URL, headers=auth)).json()
        assert [(q["id"], q["version"]) for q in listed] == [("psc17", 2), ("weekly_checkin", 2), ("who5", 2)]
    psc17 = (await client.get(f"{URL}/psc17", headers=world.a.director_auth)).json()
    assert {k: v for k, v in psc17.items() if k not in ("doc", "source", "licence", "scales")} == {
        "id": "psc17", "version": 2, "subject": "child",
        "titles": {"zh-Hans": "儿童情绪行为小筛查（PSC-17）", "en": "Pediatric Symptom Checklist (PSC-17)"},
        "translation": {"zh-Hans": "own_unvalidated", "en": "published"},
        "item_count": 17,
        "rules": [
            {"id": "total_positive", "kind": "scale_at_least", "severity": "orange", "audience": "child"},
            {"id": "internalising_positive", "kind": "scale_at_least", "severity": "orange", "audience": "child"},
            {"id": "attention_positive", "kind": "scale_at_least", "severity": "yellow", "audience": "child"},
            {"id": "externalising_positive", "kind": "scale_at_least", "severity": "yellow", "audience": "child"},
            {"id": "total_increase", "kind": "increase_since_last_at_least", "severity": "yellow",
             "audience": "child"},
        ],
        "loaded_at": "2026-11-23T04:00:00Z", "retired_at": None,
    }
    assert [(s["id"], len(s["items"]), s["cutoffs"]) for s in psc17["scales"]] == [
        ("total", 17, [{"id": "positive", "direction": "at_least", "threshold": 15, "score": "raw"}]),
        ("internalising", 5, [{"id": "positive", "direction": "at_least", "threshold": 5, "score": "raw"}]),
        ("attention", 5, [{"id": "positive", "direction": "at_least", "threshold": 7, "score": "raw"}]),
        ("externalising", 7, [{"id": "positive", "direction": "at_least", "threshold": 7, "score": "raw"}]),
    ]
    assert psc17["scales"][1]["items"] == ["sad", "hopeless", "down_on_self", "less_fun", "worries"]
    assert psc17["source"]["url"].startswith("https://www.massgeneral.org/")
    assert psc17["licence"]["text"].startswith('"This instrument may be freely reproduced."')
    assert psc17["doc"] == next(q for q in shipped().questionnaires if q.id == "psc17").model_dump(mode="json")

    who5 = (await client.get(f"{URL}/who5", headers=ADMIN)).json()
    assert (who5["subject"], who5["item_count"], who5["translation"]) == (
        "self", 5, {"zh-Hans": "own_unvalidated", "en": "adapted"})
    assert who5["scales"] == [{"id": "wellbeing", "items": ["cheerful", "calm", "active", "rested", "interest"],
                               "cutoffs": [
                                   {"id": "poor_wellbeing", "direction": "at_most", "threshold": 12, "score": "raw"},
                                   {"id": "likely_depression", "direction": "at_most", "threshold": 28,
                                    "score": "scaled"}]}]

    assert (await client.get(f"{URL}/psc17/versions/2", headers=ADMIN)).json() == psc17
    for url in (f"{URL}/nope", f"{URL}/psc17/versions/1", f"{URL}/psc17/versions/3"):
        response = await client.get(url, headers=ADMIN)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found", url
    for url, field in ((f"{URL}/PSC-17", "path.questionnaire_id"), (f"{URL}/psc17/versions/0", "path.version")):
        response = await client.get(url, headers=ADMIN)
        assert response.status_code == 422 and fields(response) == [field]


async def test_questionnaires_need_a_token(client: httpx.AsyncClient) -> None:
    for method, url, body in (("GET", URL, None), ("GET", f"{URL}/psc17", None),
                              ("GET", f"{URL}/psc17/versions/2", None), ("PUT", f"{URL}/psc17", {"id": "psc17"}),
                              ("POST", f"{URL}/psc17/retire", None)):
        assert (await client.request(method, url, json=body)).status_code == 401, (method, url)


@pytest.mark.usefixtures("loaded")
async def test_only_admins_write_questionnaires(client: httpx.AsyncClient, world: World) -> None:
    for auth in (world.a.director_auth, world.a.supervisor_auth):
        for method, url, body in (("PUT", f"{URL}/psc17", renamed_title()), ("POST", f"{URL}/psc17/retire", None)):
            response = await client.request(method, url, json=body, headers=auth)
            assert response.status_code == 403 and response.json()["error"]["code"] == "forbidden", (method, url)
    psc17 = (await client.get(f"{URL}/psc17", headers=ADMIN)).json()
    assert (psc17["version"], psc17["retired_at"]) == (2, None)


@pytest.mark.usefixtures("loaded")
async def test_an_edit_is_a_new_version_and_the_old_one_stays(client: httpx.AsyncClient, clock: FrozenClock) -> None:
    v2 = (await client.get(f"{URL}/psc17", headers=ADMIN)).json()
    clock.advance(hours=1)
    response = await client.put(f"{URL}/psc17", json=renamed_title(), headers=ADMIN)
    assert response.status_code == 200, response.text
    v3 = response.json()
    assert (v3["version"], v3["titles"]["en"], v3["loaded_at"]) == (3, "PSC-17 (short screen)", "2026-11-23T05:00:00Z")
    assert v3["doc"]["version"] == 3 and v3["doc"]["items"] == v2["doc"]["items"]

    assert (await client.get(f"{URL}/psc17/versions/2", headers=ADMIN)).json() == v2
    assert (await client.get(f"{URL}/psc17", headers=ADMIN)).json() == v3
    assert [(q["id"], q["version"]) for q in (await client.get(URL, headers=ADMIN)).json()] == [
        ("psc17", 3), ("weekly_checkin", 2), ("who5", 2)]
    # The same body again is not a new version: a retried PUT changes nothing.
    again = await client.put(f"{URL}/psc17", json=renamed_title(), headers=ADMIN)
    assert again.status_code == 200 and again.json() == v3

    entries = (await client.get("/api/v1/audit", params={"entity": "questionnaire"}, headers=ADMIN)).json()
    assert [(e["action"], e["detail"]) for e in entries] == [
        ("create", {"questionnaire_id": "psc17", "version": 3})]


@pytest.mark.usefixtures("loaded")
async def test_put_errors(client: httpx.AsyncClient) -> None:
    response = await client.put(f"{URL}/psc17", json=questionnaire_body("who5"), headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"]["field"] == "id"
    assert response.json()["error"]["message"] == "must equal the questionnaire id in the path ('psc17')"

    unknown = {**questionnaire_body("who5"), "id": "wellbeing_check"}
    assert (await client.put(f"{URL}/wellbeing_check", json=unknown, headers=ADMIN)).status_code == 404

    response = await client.put(f"{URL}/psc17", json={**questionnaire_body("psc17"), "version": 7}, headers=ADMIN)
    assert response.status_code == 422
    assert response.json()["error"]["fields"] == [
        {"field": "version", "reason": "leave it out: the library numbers versions"}]

    # A valid file about a child is still not a new version of a questionnaire about oneself.
    about_child = {**questionnaire_body("who5"), "subject": "child", "child_age": {"min": 4, "max": 16}}
    response = await client.put(f"{URL}/who5", json=about_child, headers=ADMIN)
    assert response.status_code == 422
    assert (response.json()["error"]["field"], response.json()["error"]["message"]) == (
        "subject", "cannot change from 'self'; give the new form its own id")

    response = await client.put(f"{URL}/psc17", content=b"[1, 2]",
                                headers={**ADMIN, "Content-Type": "application/json"})
    assert response.status_code == 422 and fields(response) == ["body"]


def _broken(change) -> dict:  # type: ignore[no-untyped-def]
    body = copy.deepcopy(questionnaire_body("weekly_checkin"))
    change(body)
    return body


def _unknown_item(body: dict) -> None:
    body["rules"][0]["item"] = "no_such_item"


def _no_english(body: dict) -> None:
    del body["texts"]["en"]


def _both(body: dict) -> None:
    _unknown_item(body)
    _no_english(body)


@pytest.mark.usefixtures("loaded")
@pytest.mark.parametrize(
    ("change", "problems"),
    [
        (_unknown_item, [("rules.0.item", "unknown item 'no_such_item'")]),
        (_no_english, [("texts", "missing locale en")]),
        (_both, [("texts", "missing locale en"), ("rules.0.item", "unknown item 'no_such_item'")]),
        (lambda b: b["rules"][0].update(severity="purple"),
         [("rules.0.severity", "Input should be 'red', 'orange' or 'yellow'")]),
        (lambda b: b["items"][0]["texts"].pop("en"), [("items.0.texts", "missing text for en")]),
        (lambda b: b["rules"][0].update(lessons=["no_such_lesson"]),
         [("rules.0.lessons.0", "unknown lesson 'no_such_lesson'")]),
        (lambda b: b.update(colour="red"), [("colour", "Extra inputs are not permitted")]),
    ],
    ids=["unknown-item", "missing-locale", "two-problems", "bad-severity", "item-locale", "unknown-lesson", "extra"],
)
async def test_a_broken_questionnaire_is_422_with_every_problem(
    client: httpx.AsyncClient, change, problems: list[tuple[str, str]]  # type: ignore[no-untyped-def]
) -> None:
    response = await client.put(f"{URL}/weekly_checkin", json=_broken(change), headers=ADMIN)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert [(f["field"], f["reason"]) for f in error["fields"]] == problems
    assert error["field"] == problems[0][0]
    assert (await client.get(f"{URL}/weekly_checkin", headers=ADMIN)).json()["version"] == 2


@pytest.mark.usefixtures("loaded")
async def test_retiring(
    client: httpx.AsyncClient, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    assert (await client.put(f"{URL}/psc17", json=renamed_title(), headers=ADMIN)).json()["version"] == 3
    clock.advance(minutes=10)
    response = await client.post(f"{URL}/psc17/retire", headers=ADMIN)
    assert response.status_code == 200, response.text
    assert (response.json()["version"], response.json()["retired_at"]) == (3, "2026-11-23T04:10:00Z")

    assert [q["id"] for q in (await client.get(URL, headers=ADMIN)).json()] == ["weekly_checkin", "who5"]
    listed = (await client.get(URL, params={"include_retired": "true"}, headers=ADMIN)).json()
    assert [(q["id"], q["version"]) for q in listed] == [("psc17", 3), ("weekly_checkin", 2), ("who5", 2)]
    assert (await client.get(f"{URL}/psc17", headers=ADMIN)).json()["retired_at"] == "2026-11-23T04:10:00Z"
    # No older version takes its place: nothing opens PSC-17 check-ins any more.
    async with sessionmaker() as session:
        with pytest.raises(NotFound):
            await get_questionnaire(session, questionnaire_id="psc17")
        assert (await get_questionnaire(session, questionnaire_id="psc17", version=2)).version == 2

    again = await client.post(f"{URL}/psc17/retire", headers=ADMIN)
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_retired"
    edit = await client.put(f"{URL}/psc17", json=renamed_title(title="Another"), headers=ADMIN)
    assert edit.status_code == 409 and edit.json()["error"]["code"] == "retired"
    assert (await client.post(f"{URL}/nope/retire", headers=ADMIN)).status_code == 404

    entries = (await client.get("/api/v1/audit", params={"entity": "questionnaire"}, headers=ADMIN)).json()
    assert [(e["action"], e["detail"]) for e in entries] == [
        ("update", {"questionnaire_id": "psc17", "version": 3, "fields": ["retired_at"]}),
        ("create", {"questionnaire_id": "psc17", "version": 3}),
    ]


@pytest.mark.usefixtures("loaded")
async def test_a_checkin_sent_before_keeps_its_version(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    [before] = await open_round(sessionmaker, clock, cohort_id=world.a.cohort_id, questionnaire_id="psc17",
                                cycle="2026-11")
    body = questionnaire_body("psc17")
    body["choice_sets"]["never_sometimes_often"][2]["labels"]["zh-Hans"] = "总是"
    assert (await client.put(f"{URL}/psc17", json=body, headers=ADMIN)).json()["version"] == 3
    [after] = await open_round(sessionmaker, clock, cohort_id=world.a.cohort_id, questionnaire_id="psc17",
                               cycle="2026-12")
    async with sessionmaker() as session:
        versions = dict((await session.execute(select(CheckIn.id, CheckIn.questionnaire_version))).all())
    assert versions == {before: 2, after: 3}

    # Retired, the sent check-ins stay answerable with what they asked.
    assert (await client.post(f"{URL}/psc17/retire", headers=ADMIN)).status_code == 200
    async with sessionmaker() as session, session.begin():
        for checkin_id in (before, after):
            await record_answer(session, checkin_id=checkin_id, guardian_id=world.a.household["guardian_id"],
                                item_id="sad", value=2, now=clock())
    history = (await client.get(f"/api/v1/children/{world.a.child_id}/checkins", headers=world.a.director_auth)).json()
    assert [(c["id"], c["questionnaire_version"], c["answers"][0]["label"]) for c in history] == [
        (after, 3, "总是"), (before, 2, "经常")]
