"""Lessons through the production dispatcher: /lesson, the buttons under a lesson, the
"did you try it?" follow-up sent by the outbox sender, /pause and /resume, /history."""
from __future__ import annotations

from datetime import datetime, timezone
from html import unescape

import pytest
from aiogram.methods import EditMessageReplyMarkup, SendMessage, SendPhoto

from bot.keyboards.lessons import LessonCB, ReReadCB
from core.delivery.planning import plan_due_lessons
from core.models import Delivery, Guardian, Lesson, LessonFeedback, Programme
from harness import answered, text_of

MON_20_SHANGHAI = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)

WORDS = {
    "zh-Hans": {
        "buttons": ["👍 有帮助", "👎 不适合我"],
        "try_today": "💡 <b>今天试试：</b>",
        "all_read": "适合您家的小课您都看完了。新的小课会在平常的日子发给您。",
        "thanks": "谢谢您！",
        "followup": "前几天您看了《{title}》这一课，有机会试一试吗？",
        "tried": ["试过了", "还没有", "不适合我们家"],
        "tried_reply": "太好了！小事常常做，对孩子帮助很大。",
        "stale": "这个按钮是以前消息里的，已经不能用了。",
        "history": "这是您最近的小课，点一下可以再看一遍。",
        "gone": "这一课已经没有了。",
    },
    "en": {
        "buttons": ["👍 Helpful", "👎 Not for me"],
        "try_today": "💡 <b>Try this today:</b>",
        "all_read": "You have read every lesson we have for your family for now. New ones will come on the "
                    "usual days.",
        "thanks": "Thank you!",
        "followup": "A few days ago you read “{title}”. Did you get a chance to try it?",
        "tried": ["Yes, I tried it", "Not yet", "It did not suit us"],
        "tried_reply": "Wonderful. Small things done often make a big difference for a child.",
        "stale": "This button is from an old message and no longer works.",
        "history": "Your recent lessons. Tap one to read it again.",
        "gone": "This lesson is no longer available.",
    },
}


async def programme_titles(db, programme_id: str, locale: str) -> list[str]:  # type: ignore[no-untyped-def]
    """The titles of a shipped programme's lessons, in programme order."""
    [programme] = await db.all(Programme, Programme.id == programme_id)
    lessons = {lesson.id: lesson for lesson in await db.all(Lesson)}
    return [lessons[lesson_id].texts[locale]["title"] for lesson_id in programme.lessons]


def title_of(html: str) -> str:
    first = html.split("\n", 1)[0]
    assert first.startswith("<b>") and first.endswith("</b>"), first
    return unescape(first[3:-4])


async def lesson_deliveries(db) -> list[Delivery]:  # type: ignore[no-untyped-def]
    return sorted(await db.all(Delivery, Delivery.kind == "lesson"), key=lambda d: d.id)


# ------------------------------------------------------------------ /lesson


@pytest.mark.parametrize("locale", ["zh-Hans", "en"])
async def test_lesson_sends_the_next_lesson_in_programme_order(enrol, db, bot, clock, locale):
    words = WORDS[locale]
    grandma = await enrol(locale=locale)  # one child, 8 years old: guardian_7_12
    titles = await programme_titles(db, "guardian_7_12", locale)

    sent = await grandma.send("/lesson")
    [message] = sent
    assert isinstance(message, SendMessage)
    assert title_of(message.text) == titles[0]
    assert words["try_today"] in message.text
    assert [text for text, _ in grandma.last_buttons()] == words["buttons"]

    [delivery] = await lesson_deliveries(db)
    assert (delivery.ref, delivery.state, delivery.lesson_id, delivery.lesson_version) == (
        "request", "sent", "one_on_one_time", 1)
    assert delivery.provider_message_id == str(bot.session.results[-1].message_id)
    assert {LessonCB.unpack(data).delivery_id for _, data in grandma.last_buttons()} == {delivery.id}
    # The gentle "did you try it?" is planned for three days later.
    [followup] = await db.all(Delivery, Delivery.kind == "lesson_followup")
    assert followup.state == "pending" and followup.payload == {"lesson_delivery_id": delivery.id}

    clock.advance(seconds=5)
    await grandma.send("/lesson")
    assert title_of(grandma.last().text) == titles[1]
    assert [d.lesson_id for d in await lesson_deliveries(db)] == ["one_on_one_time", "specific_praise"]


@pytest.mark.parametrize("locale", ["zh-Hans", "en"])
async def test_lesson_when_every_lesson_is_read(enrol, db, clock, locale):
    grandma = await enrol(locale=locale)
    titles = await programme_titles(db, "guardian_7_12", locale)
    got = []
    for _ in range(len(titles)):
        got.append(title_of(text_of(await grandma.send("/lesson"))))
        clock.advance(minutes=1)
    assert got == titles  # the whole programme, in its order, nothing twice

    sent = await grandma.send("/lesson")
    assert text_of(sent) == WORDS[locale]["all_read"]
    assert sent[0].reply_markup is None
    assert len(await lesson_deliveries(db)) == len(titles)


async def test_lesson_for_a_parent_working_away_follows_the_parents_programme(enrol, person, db):
    dad = await enrol(person("en"), locale="en", relationship="father", lives_with=False)
    titles = await programme_titles(db, "migrant_parent_7_12", "en")
    await dad.send("/lesson")
    assert title_of(dad.last().text) == titles[0]


async def test_lesson_with_a_picture_comes_as_a_photo_and_its_buttons_work(enrol, db, sessionmaker, clock):
    async with sessionmaker() as session, session.begin():
        v1 = await session.get(Lesson, ("one_on_one_time", 1))
        session.add(Lesson(id=v1.id, version=2, audience=v1.audience, age_bands=v1.age_bands, topics=v1.topics,
                           source=v1.source, licence=v1.licence, media={"image": "lessons/play.jpg"},
                           texts=v1.texts, sha256="v2", loaded_at=clock()))
    grandma = await enrol()
    [photo] = await grandma.send("/lesson")
    assert isinstance(photo, SendPhoto) and photo.chat_id == grandma.chat_id
    assert title_of(photo.caption) == v1.texts["zh-Hans"]["title"]
    [delivery] = await lesson_deliveries(db)
    assert delivery.lesson_version == 2
    await grandma.tap(WORDS["zh-Hans"]["buttons"][0])
    assert [(f.delivery_id, f.lesson_version) for f in await db.all(LessonFeedback)] == [(delivery.id, 2)]


async def test_lesson_telegram_refused_is_marked_failed_and_offered_again(enrol, db, bot, clock):
    grandma = await enrol()
    bot.session.fail_next(400, "Bad Request: wrong file identifier/HTTP URL specified")
    assert await grandma.send("/lesson") == []
    [failed] = await lesson_deliveries(db)
    assert (failed.state, failed.provider_message_id) == ("failed", None)
    assert failed.last_error.startswith("bad_request")
    assert await db.count(Delivery, Delivery.kind == "lesson_followup") == 0
    clock.advance(seconds=30)
    await grandma.send("/lesson")
    # The same lesson again, on the same row: one lesson, one record, two attempts.
    assert [(d.lesson_id, d.state, d.attempts) for d in await lesson_deliveries(db)] == [
        ("one_on_one_time", "sent", 2)]


async def test_lesson_telegram_down_is_sent_later_by_the_outbox(enrol, db, bot, clock, sender):
    """/lesson is an outbox row sent through the port: a server error leaves it in the outbox
    and the sender sends it on a later pass — once, with its follow-up planned."""
    grandma = await enrol()
    bot.session.fail_next(500, "Internal Server Error")
    assert await grandma.send("/lesson") == []
    [waiting] = await lesson_deliveries(db)
    assert (waiting.state, waiting.attempts, waiting.provider_message_id) == ("pending", 1, None)
    assert waiting.last_error.startswith("server_error")
    assert (await sender.drain_once()).sent == 0  # not before its backoff
    clock.advance(seconds=30)
    assert (await sender.drain_once()).sent == 1
    lesson = bot.requests[-1]
    assert isinstance(lesson, SendMessage) and lesson.chat_id == grandma.chat_id
    [row] = await lesson_deliveries(db)
    assert (row.lesson_id, row.state, row.attempts) == ("one_on_one_time", "sent", 2)
    assert row.provider_message_id == str(bot.session.results[-1].message_id)
    first = (await db.all(Lesson, Lesson.id == "one_on_one_time"))[0]
    assert title_of(lesson.text) == first.texts["zh-Hans"]["title"]
    assert await db.count(Delivery, Delivery.kind == "lesson_followup") == 1


# ------------------------------------------------------------------ buttons under a lesson


@pytest.mark.parametrize("locale", ["zh-Hans", "en"])
async def test_feedback_is_stored_and_a_second_tap_changes_it(enrol, db, bot, locale):
    words = WORDS[locale]
    grandma = await enrol(locale=locale)
    await grandma.send("/lesson")
    lesson_message_id = bot.session.results[-1].message_id
    [delivery] = await lesson_deliveries(db)

    sent = await grandma.tap(words["buttons"][0])
    assert answered(sent)[0].text == words["thanks"]
    [edit] = [m for m in sent if isinstance(m, EditMessageReplyMarkup)]
    assert (edit.chat_id, edit.message_id, edit.reply_markup) == (grandma.chat_id, lesson_message_id, None)
    [row] = await db.all(LessonFeedback)
    assert (row.delivery_id, row.lesson_id, row.lesson_version, row.question, row.answer) == (
        delivery.id, "one_on_one_time", 1, "helpful", "yes")

    # An old copy of the buttons (another phone, a slow edit) can still change the answer.
    await grandma.tap(words["buttons"][1], even_removed=True)
    [row] = await db.all(LessonFeedback)
    assert (row.question, row.answer) == ("helpful", "no")


async def test_feedback_on_a_stale_or_foreign_delivery_writes_nothing(enrol, person, db):
    grandma = await enrol()
    neighbour = await enrol(person("en"), locale="en")
    await neighbour.send("/lesson")
    [theirs] = await lesson_deliveries(db)
    for data in (
        LessonCB(delivery_id=theirs.id, question="helpful", answer="yes").pack(),  # someone else's
        LessonCB(delivery_id=99_999, question="helpful", answer="yes").pack(),  # gone
        LessonCB(delivery_id=theirs.id, question="tried", answer="maybe").pack(),  # never offered
    ):
        sent = await grandma.press(data)
        assert answered(sent)[0].text == WORDS["zh-Hans"]["stale"]
        assert not [m for m in sent if isinstance(m, (SendMessage, EditMessageReplyMarkup))]
    assert await db.count(LessonFeedback) == 0


# ------------------------------------------------------------------ the follow-up, via the sender


@pytest.mark.parametrize("locale", ["zh-Hans", "en"])
async def test_did_you_try_it_comes_three_days_after_a_scheduled_lesson(
    enrol, db, clock, sender, sessionmaker, schedule_lessons, locale
):
    words = WORDS[locale]
    grandma = await enrol(locale=locale)
    titles = await programme_titles(db, "guardian_7_12", locale)
    await schedule_lessons(["mon"], "20:00")
    clock.set(MON_20_SHANGHAI)
    assert await plan_due_lessons(sessionmaker, now=clock()) == 1

    assert (await sender.drain_once()).sent == 1
    lesson_message = grandma.last()
    assert title_of(lesson_message.text) == titles[0]
    assert [text for text, _ in grandma.last_buttons()] == words["buttons"]
    [lesson] = await lesson_deliveries(db)
    assert (lesson.ref, lesson.cycle, lesson.state) == ("schedule", "2026-11-23T20:00", "sent")

    clock.advance(days=3, minutes=-1)
    assert (await sender.drain_once()).claimed == 0
    clock.advance(minutes=1)
    assert (await sender.drain_once()).sent == 1
    followup = grandma.last()
    assert followup.text == words["followup"].format(title=titles[0])
    assert [text for text, _ in grandma.last_buttons()] == words["tried"]

    sent = await grandma.tap(words["tried"][0])
    assert text_of(sent) == words["tried_reply"]
    assert [m for m in sent if isinstance(m, EditMessageReplyMarkup)]
    [row] = await db.all(LessonFeedback)
    # Stored against the lesson it asks about, not the follow-up message.
    assert (row.delivery_id, row.question, row.answer) == (lesson.id, "tried", "yes")


# ------------------------------------------------------------------ /pause and /resume


async def test_pause_and_resume(enrol, db):
    grandma = await enrol(locale="en")
    assert text_of(await grandma.send("/pause")).startswith("Lessons are paused. Send /resume")
    assert (await db.all(Guardian))[0].status == "paused"
    assert text_of(await grandma.send("/resume")).startswith("Lessons are on again.")
    assert (await db.all(Guardian))[0].status == "active"

    zh = await enrol()
    assert text_of(await zh.send("/pause")).startswith("小课已暂停。想再收到时，发 /resume。")


async def test_a_paused_guardians_scheduled_lesson_is_cancelled_at_send_time(
    enrol, db, clock, sender, sessionmaker, schedule_lessons
):
    grandma = await enrol()
    await schedule_lessons(["mon"], "20:00")
    clock.set(MON_20_SHANGHAI)
    assert await plan_due_lessons(sessionmaker, now=clock()) == 1  # planned while still active
    await grandma.send("/pause")
    messages_before = len(grandma.sent())

    stats = await sender.drain_once()
    assert (stats.cancelled, stats.sent) == (1, 0)
    [lesson] = await lesson_deliveries(db)
    assert (lesson.state, lesson.last_error, lesson.lesson_id) == ("cancelled", "paused", None)
    assert len(grandma.sent()) == messages_before

    await grandma.send("/resume")
    clock.advance(days=7)
    assert await plan_due_lessons(sessionmaker, now=clock()) == 1
    assert (await sender.drain_once()).sent == 1
    assert [d.state for d in await lesson_deliveries(db)] == ["cancelled", "sent"]


# ------------------------------------------------------------------ /history and reading again


async def test_history_lists_sent_lessons_newest_first_by_local_day(enrol, db, clock):
    grandma = await enrol()
    assert "还没有收到过小课" in text_of(await grandma.send("/history"))
    titles = await programme_titles(db, "guardian_7_12", "zh-Hans")
    # 16:30 UTC on the 23rd is already the 24th in the village.
    clock.set(datetime(2026, 11, 23, 16, 30, tzinfo=timezone.utc))
    for _ in range(3):
        await grandma.send("/lesson")
        clock.advance(days=1)
    assert text_of(await grandma.send("/history")) == WORDS["zh-Hans"]["history"]
    buttons = grandma.last_buttons()
    assert [text for text, _ in buttons] == [
        f"11-26 · {titles[2]}", f"11-25 · {titles[1]}", f"11-24 · {titles[0]}"]
    deliveries = await lesson_deliveries(db)
    assert [ReReadCB.unpack(data).delivery_id for _, data in buttons] == [d.id for d in reversed(deliveries)]


async def test_reread_sends_the_exact_version_that_was_sent(enrol, db, sessionmaker, clock):
    grandma = await enrol(locale="en")
    original = text_of(await grandma.send("/lesson"))
    # The lesson is revised after it was sent.
    async with sessionmaker() as session, session.begin():
        v1 = await session.get(Lesson, ("one_on_one_time", 1))
        texts = {loc: dict(t, title=f"Revised: {t['title']}") for loc, t in v1.texts.items()}
        session.add(Lesson(id=v1.id, version=2, audience=v1.audience, age_bands=v1.age_bands, topics=v1.topics,
                           source=v1.source, licence=v1.licence, media={}, texts=texts, sha256="v2",
                           loaded_at=clock()))
    await grandma.send("/history")
    sent = await grandma.tap(grandma.last_buttons()[0][0])
    [again] = [m for m in sent if isinstance(m, SendMessage)]
    assert again.text == original and "Revised" not in again.text
    assert again.chat_id == grandma.chat_id


async def test_reread_only_for_the_guardians_own_lessons(enrol, person, db):
    grandma = await enrol()
    await grandma.send("/lesson")
    [lesson] = await lesson_deliveries(db)
    [followup] = await db.all(Delivery, Delivery.kind == "lesson_followup")
    neighbour = await enrol(person("en"), locale="en")
    for who, delivery_id, reply in (
        (neighbour, lesson.id, WORDS["en"]["gone"]),  # not theirs
        (grandma, followup.id, WORDS["zh-Hans"]["gone"]),  # not a lesson
        (grandma, 99_999, WORDS["zh-Hans"]["gone"]),
    ):
        sent = await who.press(ReReadCB(delivery_id=delivery_id).pack())
        assert answered(sent)[0].text == reply
        assert not [m for m in sent if isinstance(m, SendMessage)]
