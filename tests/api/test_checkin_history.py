"""A child's check-in history (and a guardian's own WHO-5 check-ins) for staff: exact scores for
known answers, the answers in the reader's language, who answered, the closing note and the
alerts raised; scoped to the reader's cohorts and audited on every read."""
from __future__ import annotations

import httpx
import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import FrozenClock
from tests.api.checkin_data import (
    PSC17_ITEMS, WHO5_ITEMS, answer, load_questionnaires_and_lessons, open_round, psc17,
)
from tests.api.helpers import ADMIN, World, bearer, create_staff

NOTE = "孩子最近很想妈妈，晚上睡不好。"


@pytest.fixture
async def loaded(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock) -> None:
    await load_questionnaires_and_lessons(sessionmaker, clock)


async def answered_psc17(world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, *,
                         cycle: str = "2026-11", note: str | None = NOTE) -> int:
    """Cohort A's child: sad, hopeless, … often (2); refuses to share, fights, … sometimes (1)."""
    [checkin_id] = await open_round(sessionmaker, clock, cohort_id=world.a.cohort_id, questionnaire_id="psc17",
                                    cycle=cycle)
    await answer(sessionmaker, clock, checkin_id=checkin_id, guardian_id=world.a.household["guardian_id"],
                 answers=psc17(internalising=2, externalising=1), note=note)
    return checkin_id


async def alerts_by_rule(client: httpx.AsyncClient, **params: object) -> dict[str, int]:
    listed = (await client.get("/api/v1/alerts", params=params, headers=ADMIN)).json()
    return {a["rule_id"]: a["id"] for a in listed}


def url(child_id: int) -> str:
    return f"/api/v1/children/{child_id}/checkins"


@pytest.mark.usefixtures("loaded")
async def test_history_shows_scores_answers_note_and_alerts(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    checkin_id = await answered_psc17(world, sessionmaker, clock)
    grandmother = world.a.household["guardian_id"]
    alerts = await alerts_by_rule(client, child_id=world.a.child_id)
    assert set(alerts) == {"total_positive", "internalising_positive", "externalising_positive"}

    response = await client.get(url(world.a.child_id), headers=world.a.director_auth)
    assert response.status_code == 200, response.text
    [record] = response.json()
    assert {k: v for k, v in record.items() if k != "answers"} == {
        "id": checkin_id, "questionnaire_id": "psc17", "questionnaire_version": 2,
        "title": "儿童情绪行为小筛查（PSC-17）", "child_id": world.a.child_id, "guardian_id": None,
        "cycle": "2026-11", "state": "completed", "due_at": "2026-11-23T04:00:00Z",
        "expires_at": "2026-11-26T04:00:00Z", "completed_at": "2026-11-23T04:00:00Z",
        "answered_by": [{"guardian_id": grandmother, "relationship": "grandmother"}],
        "scores": [
            {"scale_id": "total", "label": "总分", "raw": 17, "scaled": 17, "status": "complete",
             "cutoffs": ["positive"], "reason": None},
            {"scale_id": "internalising", "label": "内化（情绪）", "raw": 10, "scaled": 10, "status": "complete",
             "cutoffs": ["positive"], "reason": None},
            {"scale_id": "attention", "label": "注意力", "raw": 0, "scaled": 0, "status": "complete",
             "cutoffs": [], "reason": None},
            {"scale_id": "externalising", "label": "外化（行为）", "raw": 7, "scaled": 7, "status": "complete",
             "cutoffs": ["positive"], "reason": None},
        ],
        "note": NOTE,
        "alert_ids": sorted(alerts.values()),
    }
    assert [a["item_id"] for a in record["answers"]] == PSC17_ITEMS
    assert record["answers"][:2] == [
        {"item_id": "fidgety", "value": 0, "label": "从不", "answered_by_guardian_id": grandmother,
         "answered_at": "2026-11-23T04:00:00Z", "changed_at": None},
        {"item_id": "sad", "value": 2, "label": "经常", "answered_by_guardian_id": grandmother,
         "answered_at": "2026-11-23T04:00:00Z", "changed_at": None},
    ]
    assert record["answers"][3]["label"] == "有时"  # refuses_to_share
    assert "chat" not in response.text

    # Read in English by a staff member who reads English; the note stays as written.
    english = await create_staff(client, "director", [world.a.cohort_id], "Ms Li", locale="en")
    [record] = (await client.get(url(world.a.child_id), headers=bearer(english["credentials"]["api_token"]))).json()
    assert record["title"] == "Pediatric Symptom Checklist (PSC-17)"
    assert [s["label"] for s in record["scores"]] == ["Total", "Internalising", "Attention", "Externalising"]
    assert [a["label"] for a in record["answers"][:4]] == ["Never", "Often", "Never", "Sometimes"]
    assert record["note"] == NOTE


@pytest.mark.usefixtures("loaded")
async def test_newest_first_filters_and_pages(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    first = await answered_psc17(world, sessionmaker, clock, note=None)
    clock.advance(days=7)
    [weekly] = await open_round(sessionmaker, clock, cohort_id=world.a.cohort_id, questionnaire_id="weekly_checkin",
                                cycle="2026-W49")
    await answer(sessionmaker, clock, checkin_id=weekly, guardian_id=world.a.household["guardian_id"],
                 answers={"mood": 2}, complete=False)
    clock.advance(days=23)
    second = await answered_psc17(world, sessionmaker, clock, cycle="2026-12", note=None)
    alerts = await alerts_by_rule(client, child_id=world.a.child_id)

    history = (await client.get(url(world.a.child_id), headers=world.a.director_auth)).json()
    assert [(c["id"], c["state"], len(c["answers"]), len(c["scores"]), c["note"]) for c in history] == [
        (second, "completed", 17, 4, None), (weekly, "in_progress", 1, 0, None), (first, "completed", 17, 4, None)]
    # The second PSC-17 repeated the first one's alerts: both list them.
    assert history[0]["alert_ids"] == history[2]["alert_ids"] == sorted(alerts.values())
    assert history[1]["alert_ids"] == []
    assert history[1]["answers"] == [
        {"item_id": "mood", "value": 2, "label": "常常不开心、哭或发脾气",
         "answered_by_guardian_id": world.a.household["guardian_id"], "answered_at": "2026-11-30T04:00:00Z",
         "changed_at": None}]

    for params, expected in (({"questionnaire_id": "psc17"}, [second, first]),
                             ({"questionnaire_id": "weekly_checkin"}, [weekly]),
                             ({"questionnaire_id": "who5"}, []),
                             ({"limit": 1, "offset": 1}, [weekly]),
                             ({"offset": 3}, [])):
        listed = (await client.get(url(world.a.child_id), params=params, headers=ADMIN)).json()
        assert [c["id"] for c in listed] == expected, params
    for params, field in (({"limit": 0}, "query.limit"), ({"limit": 201}, "query.limit"),
                          ({"questionnaire_id": "PSC-17"}, "query.questionnaire_id")):
        response = await client.get(url(world.a.child_id), params=params, headers=ADMIN)
        assert response.status_code == 422 and response.json()["error"]["fields"][0]["field"] == field


@pytest.mark.usefixtures("loaded")
async def test_history_is_scoped_and_every_read_audited(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    checkin_id = await answered_psc17(world, sessionmaker, clock, note=None)
    assert (await client.get(url(world.a.child_id))).status_code == 401
    for auth in (world.b.director_auth, world.b.supervisor_auth):
        response = await client.get(url(world.a.child_id), headers=auth)
        assert response.status_code == 404 and response.json()["error"]["code"] == "not_found"
    assert (await client.get(url(999_999), headers=ADMIN)).status_code == 404
    assert (await client.get(url(world.b.child_id), headers=world.b.director_auth)).json() == []

    clock.advance(minutes=5)
    for auth in (world.a.supervisor_auth, ADMIN):
        assert [c["id"] for c in (await client.get(url(world.a.child_id), headers=auth)).json()] == [checkin_id]

    admin_id = (await client.get("/api/v1/me", headers=ADMIN)).json()["id"]
    entries = (await client.get("/api/v1/audit", params={"entity": "checkin"}, headers=ADMIN)).json()
    assert [(e["staff_id"], e["action"], e["cohort_id"], e["entity_id"], e["detail"], e["at"]) for e in entries] == [
        (admin_id, "read", world.a.cohort_id, None, {"child_id": world.a.child_id, "ids": [checkin_id]},
         "2026-11-23T04:05:00Z"),
        (world.a.supervisor["id"], "read", world.a.cohort_id, None,
         {"child_id": world.a.child_id, "ids": [checkin_id]}, "2026-11-23T04:05:00Z"),
        (world.b.director["id"], "read", world.b.cohort_id, None, {"child_id": world.b.child_id, "ids": []},
         "2026-11-23T04:00:00Z"),
    ]


@pytest.mark.usefixtures("loaded")
async def test_a_guardians_own_checkins(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    grandmother = world.a.household["guardian_id"]
    [checkin_id] = await open_round(sessionmaker, clock, cohort_id=world.a.cohort_id, questionnaire_id="who5",
                                    cycle="2026-Q4")
    await answer(sessionmaker, clock, checkin_id=checkin_id, guardian_id=grandmother,
                 answers={item: 1 for item in WHO5_ITEMS})
    alerts = await alerts_by_rule(client, audience="guardian")
    assert set(alerts) == {"poor_wellbeing", "low_single_item", "likely_depression"}

    guardian_url = f"/api/v1/guardians/{grandmother}/checkins"
    [record] = (await client.get(guardian_url, headers=world.a.director_auth)).json()
    assert {k: record[k] for k in ("id", "questionnaire_id", "title", "child_id", "guardian_id", "state",
                                   "answered_by", "scores", "alert_ids")} == {
        "id": checkin_id, "questionnaire_id": "who5", "title": "您最近好吗？（WHO-5）", "child_id": None,
        "guardian_id": grandmother, "state": "completed",
        "answered_by": [{"guardian_id": grandmother, "relationship": "grandmother"}],
        "scores": [{"scale_id": "wellbeing", "label": "身心健康指数", "raw": 5, "scaled": 20, "status": "complete",
                    "cutoffs": ["poor_wellbeing", "likely_depression"], "reason": None}],
        "alert_ids": sorted(alerts.values()),
    }
    assert [(a["item_id"], a["label"]) for a in record["answers"]] == [(item, "偶尔") for item in WHO5_ITEMS]
    [entry] = (await client.get("/api/v1/audit", params={"entity": "checkin"}, headers=ADMIN)).json()
    assert (entry["staff_id"], entry["cohort_id"], entry["detail"]) == (
        world.a.director["id"], world.a.cohort_id, {"guardian_id": grandmother, "ids": [checkin_id]})
    # Not part of the child's history.
    assert (await client.get(url(world.a.child_id), headers=world.a.director_auth)).json() == []

    assert (await client.get(guardian_url)).status_code == 401
    assert (await client.get(guardian_url, headers=world.b.director_auth)).status_code == 404
    assert (await client.get("/api/v1/guardians/999999/checkins", headers=ADMIN)).status_code == 404


@pytest.mark.usefixtures("loaded")
async def test_history_reads_the_questionnaire_hash_with_the_check_ins(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock
) -> None:
    """Issue #16: the questionnaire's hash comes along with the check-in rows, so a history
    whose questionnaire file is cached reads no questionnaires row on its own."""
    from typing import Any

    from sqlalchemy import event

    await answered_psc17(world, sessionmaker, clock)
    await client.get(url(world.a.child_id), headers=world.a.director_auth)  # the file parsed and cached
    seen: list[str] = []

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen.append(" ".join(statement.split()))

    engine = sessionmaker.kw["bind"].sync_engine
    event.listen(engine, "before_cursor_execute", count)
    try:
        response = await client.get(url(world.a.child_id), headers=world.a.director_auth)
    finally:
        event.remove(engine, "before_cursor_execute", count)
    assert response.status_code == 200 and response.json()[0]["title"] == "儿童情绪行为小筛查（PSC-17）"
    assert not [s for s in seen if s.startswith("SELECT") and "FROM questionnaires" in s]
    assert [s for s in seen if "FROM check_ins" in s and "questionnaires.sha256" in s]
