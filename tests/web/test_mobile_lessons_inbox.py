"""Lessons and writing to the child director on the mobile pages: the lessons received, a page per
lesson version with its recording, 👍/👎 and "did you try it?"; words to the director entering the
same inbox as the bot's (asked which child, red words → the safety page and an alert), bad input."""
from __future__ import annotations

from sqlalchemy import select

from core.models import Alert, Delivery, InboxItem, LessonFeedback
from tests.endpoints import address_of, tg
from tests.web.mobile_fixtures import DIRECTOR_CHAT, client, mobile, sign_in, text_of  # noqa: F401


async def _sent_lesson(sessionmaker, clock, guardian) -> int:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session, session.begin():
        d = Delivery(address=await address_of(session, guardian), guardian_id=guardian.id, cohort_id=None, kind="lesson", ref="schedule",
                     cycle="2026-11-20T20:00", lane=2, state="sent", due_at=clock(), attempts=1, payload={},
                     lesson_id="calm_consequences", lesson_version=2, created_at=clock(), sent_at=clock())
        session.add(d)
        await session.flush()
        return d.id


async def test_lessons_received_a_lesson_page_its_recording_and_feedback(client, mobile, sessionmaker, clock):
    mine = await _sent_lesson(sessionmaker, clock, mobile.village.grandma)
    fathers = await _sent_lesson(sessionmaker, clock, mobile.village.father)
    await sign_in(client, mobile)
    listing = await client.get("/m/lessons")
    assert listing.status_code == 200 and f'href="/m/lessons/{mine}"' in listing.text
    assert f'href="/m/lessons/{fathers}"' not in listing.text
    page = await client.get(f"/m/lessons/{mine}")
    assert page.status_code == 200 and "<audio" in page.text
    src = "/m/media/audio/lessons/calm_consequences.zh-Hans.mp3"
    assert f'src="{src}"' in page.text and "今天试试" in page.text
    audio = await client.get(src)
    assert audio.status_code == 200 and audio.headers["content-type"] == "audio/mpeg" and audio.content[:2] == b"\xff\xfb"
    thumbs = await client.post(f"/m/lessons/{mine}/feedback", data={"question": "helpful", "answer": "yes"})
    assert thumbs.status_code == 303 and thumbs.headers["location"] == f"/m/lessons/{mine}?saved=1"
    await client.post(f"/m/lessons/{mine}/feedback", data={"question": "tried", "answer": "not_yet"})
    again = await client.get(f"/m/lessons/{mine}?saved=1")
    assert "谢谢！您的回答保存好了" in again.text and again.text.count("choice chosen") == 2
    async with sessionmaker() as session:
        given = {(f.question, f.answer) for f in (await session.scalars(select(LessonFeedback))).all()}
    assert given == {("helpful", "yes"), ("tried", "not_yet")}
    en = await client.get(f"/m/lessons/{mine}?lang=en")
    assert "Did you try it?" in en.text and 'src="/m/media/audio/lessons/calm_consequences.zh-Hans.mp3"' in en.text


async def test_lesson_bad_input(client, mobile, sessionmaker, clock):
    fathers = await _sent_lesson(sessionmaker, clock, mobile.village.father)
    await sign_in(client, mobile)
    assert (await client.get(f"/m/lessons/{fathers}")).status_code == 404  # another guardian's lesson
    assert (await client.post(f"/m/lessons/{fathers}/feedback",
                              data={"question": "helpful", "answer": "yes"})).status_code == 404
    mine = await _sent_lesson(sessionmaker, clock, mobile.village.grandma)
    bad = await client.post(f"/m/lessons/{mine}/feedback", data={"question": "helpful", "answer": "maybe"})
    assert bad.status_code == 422
    for path in ("/m/media/../pyproject.toml", "/m/media/audio/lessons/nothing.mp3", "/m/media/lessons/x.yaml",
                 "/m/media/.hidden/x.mp3"):
        assert (await client.get(path)).status_code == 404, path
    assert (await client.get("/m/lessons?lang=en")).status_code == 200


async def test_words_to_the_director_enter_the_inbox(client, mobile, sessionmaker):
    await sign_in(client, mobile)
    form = await client.get("/m/write")
    assert form.status_code == 200 and "写给儿童主任" in form.text
    empty = await client.post("/m/write", data={"text": "   "})
    assert empty.status_code == 422 and "还没有写字" in empty.text
    sent = await client.post("/m/write", data={"text": "这周家里都挺好的，谢谢关心"})
    assert sent.status_code == 303  # two children, none named: which one?
    ask = await client.get(sent.headers["location"])
    assert "小明" in ask.text and "小宝" in ask.text
    item_id = int(sent.headers["location"].split("/")[3])
    chose = await client.post(sent.headers["location"], data={"child_id": mobile.village.older.id})
    assert chose.status_code == 200 and "王主任" in chose.text
    async with sessionmaker() as session:
        item = await session.get(InboxItem, item_id)
        assert (item.child_id, item.state) == (mobile.village.older.id, "open")
        forwards = (await session.scalars(select(Delivery).where(Delivery.kind == "inbox_forward"))).all()
        assert [d.address for d in forwards] == [tg(DIRECTOR_CHAT)]
    twice = await client.post(sent.headers["location"], data={"child_id": mobile.village.older.id})
    assert twice.status_code == 200  # a second tap changes nothing


async def test_red_words_show_the_safety_page_and_raise_an_alert(client, mobile, sessionmaker):
    await sign_in(client, mobile)
    red = await client.post("/m/write", data={"text": "小明喝了农药"})
    assert red.status_code == 303 and red.headers["location"] == "/m/help"
    help_page = await client.get("/m/help")
    assert 'href="tel:110"' in help_page.text and 'href="tel:12356"' in help_page.text
    async with sessionmaker() as session:
        alert = (await session.scalars(select(Alert))).one()
        assert alert.severity == "red" and alert.child_id == mobile.village.older.id
        shown = (await session.scalars(select(Delivery).where(Delivery.kind == "safety"))).one()
        assert shown.state == "sent"
        card = (await session.scalars(select(Delivery).where(Delivery.kind == "alert"))).one()
        assert card.address == tg(DIRECTOR_CHAT)
    long = await client.post("/m/write?lang=en", data={"text": "好" * 2001})
    assert long.status_code == 422 and "too long" in long.text
