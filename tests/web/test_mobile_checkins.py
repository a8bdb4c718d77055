"""Check-ins on the mobile pages, with the bot's core conversation: one question per screen, every
tap committed, back, resume after closing, a double-submitted answer, two guardians at once, a
red answer → the safety page with tap-to-call links, the alert and the director's card queued."""
from __future__ import annotations

import re

from sqlalchemy import select

from core.models import Alert, Answer, CheckIn, Delivery
from tests.endpoints import tg
from tests.web.mobile_fixtures import (DIRECTOR_CHAT, FATHER_PHONE, client, mobile, sign_in,  # noqa: F401
                                       text_of)

async def _answers(sessionmaker, checkin_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        rows = (await session.scalars(select(Answer).where(Answer.check_in_id == checkin_id))).all()
    return {a.item_id: a.value for a in rows}


async def test_signed_out_pages_go_to_sign_in(client, mobile):
    page = await client.get(f"/m/checkins/{mobile.psc17_id}")
    assert page.status_code == 303 and page.headers["location"] == "/m/signin"
    post = await client.post(f"/m/checkins/{mobile.psc17_id}/answer", data={"index": 0, "value": 0})
    assert post.status_code == 303 and post.headers["location"] == "/m/signin"


async def test_one_question_per_screen_back_and_resume(client, mobile, sessionmaker, clock):
    await sign_in(client, mobile)
    home = await client.get("/m/")
    assert f'href="/m/checkins/{mobile.psc17_id}"' in home.text
    first = await client.get(f"/m/checkins/{mobile.psc17_id}")
    assert first.status_code == 200 and "1/17" in first.text and "小明" in first.text
    assert len(re.findall(r'class="choice[" ]', first.text)) == 3 and "上一题" not in first.text
    step = await client.post(f"/m/checkins/{mobile.psc17_id}/answer", data={"index": 0, "value": 1})
    assert step.status_code == 303 and step.headers["location"] == f"/m/checkins/{mobile.psc17_id}"
    second = await client.get(f"/m/checkins/{mobile.psc17_id}")
    assert "2/17" in second.text and "上一题" in second.text
    # A double submit (a second tap, or the browser sending the form again) changes nothing.
    for _ in range(2):
        await client.post(f"/m/checkins/{mobile.psc17_id}/answer", data={"index": 1, "value": 2})
    assert await _answers(sessionmaker, mobile.psc17_id) == {"fidgety": 1, "sad": 2}
    back = await client.post(f"/m/checkins/{mobile.psc17_id}/back")
    assert back.status_code == 303
    again = await client.get(f"/m/checkins/{mobile.psc17_id}")
    assert "2/17" in again.text and 'aria-pressed="true"' in again.text  # the answer given, marked
    # Closing the page (a new browser, signed in again) resumes where it stood.
    client.cookies.clear()
    clock.advance(hours=5)
    await sign_in(client, mobile)
    home = await client.get("/m/")
    assert "已经答了 1 题，共 17 题" in text_of(home.text)
    resumed = await client.get(f"/m/checkins/{mobile.psc17_id}?lang=en")
    assert "2/17" in resumed.text and "Back" in resumed.text


async def test_two_guardians_at_once(client, mobile, sessionmaker):
    await sign_in(client, mobile)
    await client.post(f"/m/checkins/{mobile.psc17_id}/answer", data={"index": 0, "value": 0})
    import httpx
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mobile.app), base_url="https://test",
                                 headers={"accept-language": "zh-CN"}) as father:
        await sign_in(father, mobile, FATHER_PHONE)
        home = await father.get("/m/")
        assert f"/m/checkins/{mobile.psc17_id}" not in home.text and "家里有人正在回答" in home.text
        page = await father.get(f"/m/checkins/{mobile.psc17_id}")
        assert page.status_code == 409 and "家里已经有人在回答这些问题了" in page.text
        tap = await father.post(f"/m/checkins/{mobile.psc17_id}/answer", data={"index": 0, "value": 2})
        assert tap.status_code == 409
        en = await father.get(f"/m/checkins/{mobile.psc17_id}?lang=en")
        assert "Someone in your family is answering" in en.text
    assert await _answers(sessionmaker, mobile.psc17_id) == {"fidgety": 0}  # the grandmother's stands


async def test_the_safety_question_stays_open_to_a_second_guardian(client, mobile, sessionmaker):
    """The grandmother is answering the weekly check-in; the father can still answer its safety
    question (never the others), and a "yes" from him is an alert and the safety page for him."""
    import httpx
    weekly = mobile.weekly_ids[mobile.village.older.id]
    await sign_in(client, mobile)
    await client.post(f"/m/checkins/{weekly}/answer", data={"index": 0, "value": 0})
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=mobile.app), base_url="https://test",
                                 headers={"accept-language": "zh-CN"}) as father:
        await sign_in(father, mobile, FATHER_PHONE)
        page = await father.get(f"/m/checkins/{weekly}")
        assert page.status_code == 409 and "家里谁都可以回答" in page.text and 'name="index" value="5"' in page.text
        assert (await father.post(f"/m/checkins/{weekly}/answer", data={"index": 1, "value": 0})).status_code == 409
        red = await father.post(f"/m/checkins/{weekly}/answer", data={"index": 5, "value": 2})
        assert red.status_code == 303 and red.headers["location"] == f"/m/checkins/{weekly}/safety"
        assert 'href="tel:110"' in (await father.get(red.headers["location"])).text
    assert await _answers(sessionmaker, weekly) == {"mood": 0, "safety": 2}
    async with sessionmaker() as session:
        assert (await session.scalars(select(Alert))).one().rule_id == "safety_harmed_by_someone"
        assert (await session.get(CheckIn, weekly)).claimed_by_guardian_id == mobile.village.grandma.id


async def test_a_red_answer_shows_the_safety_page_and_raises_the_alert(client, mobile, sessionmaker):
    await sign_in(client, mobile)
    weekly = mobile.weekly_ids[mobile.village.older.id]
    for index in range(5):
        assert (await client.post(f"/m/checkins/{weekly}/answer", data={"index": index, "value": 0})).status_code == 303
    question = await client.get(f"/m/checkins/{weekly}")
    assert "6/6" in question.text and "伤害" in question.text
    red = await client.post(f"/m/checkins/{weekly}/answer", data={"index": 5, "value": 1})
    assert red.status_code == 303 and red.headers["location"] == f"/m/checkins/{weekly}/safety"
    safety = await client.get(red.headers["location"])
    assert safety.status_code == 200
    for number in ("110", "120", "12356", "12355", "13700001111"):
        assert f'href="tel:{number}"' in safety.text
    assert "王主任" in safety.text
    async with sessionmaker() as session:
        alert = (await session.scalars(select(Alert))).one()
        assert (alert.severity, alert.rule_id) == ("red", "safety_self_harm")
        card = (await session.scalars(select(Delivery).where(Delivery.kind == "alert"))).one()
        assert (card.address, card.lane, card.state) == (tg(DIRECTOR_CHAT), 0, "pending")
        shown = (await session.scalars(select(Delivery).where(Delivery.kind == "safety"))).one()
        assert shown.state == "sent"  # shown on the page: not sent again elsewhere
        checkin = await session.get(CheckIn, weekly)
        assert checkin.state == "completed"
    en = await client.get(f"/m/checkins/{weekly}/safety?lang=en")
    assert "Call 110 (police)" in text_of(en.text) and "Police" in en.text


async def test_another_familys_checkin_is_not_found_and_bad_answers_are_refused(client, mobile, sessionmaker):
    await sign_in(client, mobile)
    async with sessionmaker() as session:
        theirs = (await session.scalars(select(CheckIn.id).where(
            CheckIn.household_id == mobile.village.home_b.id))).first()
    assert (await client.get(f"/m/checkins/{theirs}")).status_code == 404
    assert (await client.post(f"/m/checkins/{theirs}/answer", data={"index": 0, "value": 0})).status_code == 404
    bad = await client.post(f"/m/checkins/{mobile.psc17_id}/answer", data={"index": 0, "value": 9})
    assert bad.status_code == 422 and "这个回答没能保存" in bad.text
    nonsense = await client.post(f"/m/checkins/{mobile.psc17_id}/answer", data={"index": "x", "value": 0})
    assert nonsense.status_code == 422
    assert await _answers(sessionmaker, mobile.psc17_id) == {}


async def test_a_closed_checkin(client, mobile, clock):
    await sign_in(client, mobile)
    clock.advance(days=4)
    page = await client.get(f"/m/checkins/{mobile.psc17_id}")
    assert page.status_code == 410 and "这些问题已经结束了" in page.text
    tap = await client.post(f"/m/checkins/{mobile.psc17_id}/answer?lang=en", data={"index": 0, "value": 0})
    assert tap.status_code == 410 and "These questions have closed" in tap.text


async def test_who5_about_the_guardian_themself(client, mobile, sessionmaker, clock):
    from core.checkin.service import open_checkins_for_cohort

    async with sessionmaker() as session, session.begin():
        await open_checkins_for_cohort(session, cohort_id=mobile.village.cohort.id, questionnaire_id="who5",
                                       cycle="2026-Q4", now=clock())
        mine = await session.scalar(select(CheckIn.id).where(CheckIn.subject_guardian_id == mobile.village.grandma.id))
        fathers = await session.scalar(select(CheckIn.id).where(CheckIn.subject_guardian_id == mobile.village.father.id))
    await sign_in(client, mobile)
    home = await client.get("/m/")
    assert f'href="/m/checkins/{mine}"' in home.text and "关于您自己" in home.text
    assert f'href="/m/checkins/{fathers}"' not in home.text
    assert (await client.get(f"/m/checkins/{fathers}")).status_code == 404  # his own questions, not hers
    page = await client.get(f"/m/checkins/{mine}")
    assert "1/5" in page.text
    assert (await client.post(f"/m/checkins/{mine}/answer", data={"index": 0, "value": 3})).status_code == 303
    assert "2/5" in (await client.get(f"/m/checkins/{mine}")).text


async def test_a_question_read_aloud_has_a_player(client, mobile, sessionmaker):
    """An item with a recording in the reader's language shows a player above the choices; the
    recording itself is served from content/media/."""
    from core.models import Questionnaire

    async with sessionmaker() as session:
        stored = (await session.scalars(select(Questionnaire).where(Questionnaire.id == "psc17"))).first()
        doc = dict(stored.doc)
        doc["items"] = [{**doc["items"][0], "audio": {"zh-Hans": "audio/lessons/calm_consequences.zh-Hans.mp3"}},
                        *doc["items"][1:]]
        stored.doc, stored.sha256 = doc, "f" * 64  # a new hash: the process parses it afresh
        await session.commit()
    await sign_in(client, mobile)
    page = await client.get(f"/m/checkins/{mobile.psc17_id}")
    assert '<audio controls preload="none" src="/m/media/audio/lessons/calm_consequences.zh-Hans.mp3">' in page.text
    assert (await client.get("/m/media/audio/lessons/calm_consequences.zh-Hans.mp3")).status_code == 200
    second = await client.post(f"/m/checkins/{mobile.psc17_id}/answer", data={"index": 0, "value": 1})
    assert "<audio" not in (await client.get(second.headers["location"])).text  # item 2 has no recording
