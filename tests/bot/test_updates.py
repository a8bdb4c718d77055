"""Update plumbing: redelivery, unexpected errors, group chats."""
from __future__ import annotations

import logging

import pytest

from aiogram.types import Chat, Message, Update

from bot.handlers import flow, mydata, start
from core.models import CodeAttempt, Draft, Guardian, ProcessedUpdate
from harness import answered, next_update_id, text_of


async def test_a_redelivered_update_does_nothing_the_second_time(person, world, db):
    p = person("zh")
    start = p.message_update(text=f"/start {world.invitation_code}")
    assert len(await p.feed(start)) == 1
    assert await p.feed(start) == []
    assert await db.count(Draft) == 1

    wrong = p.message_update(text="/start nope")
    await p.feed(wrong)
    assert await p.feed(wrong) == []
    assert await db.count(CodeAttempt) == 1  # counted once, not twice
    assert await db.count(ProcessedUpdate, ProcessedUpdate.event_id == str(wrong.update_id)) == 1


async def test_a_redelivered_answer_is_not_applied_twice(person, world, db):
    p = person("en")
    await p.send(f"/start {world.invitation_code}")
    for step in ("English", "I agree", "Mother", "I live with the children"):
        await p.tap(step)
    await p.identity()
    first = p.message_update(text="Ming")
    await p.feed(first)
    assert (await db.all(Draft))[0].step == "child_birth_year"
    assert await p.feed(first) == []  # not taken as an answer to the birth-year question
    assert (await db.all(Draft))[0].data["child"] == {"nickname": "Ming"}


async def test_unexpected_error_rolls_back_logs_ids_only_and_replies_kindly(enrol, monkeypatch, caplog, db):
    grandma = await enrol(locale="en")

    secret = "-".join(["private", "detail", "小明"])  # built at run time: not in any source line

    async def broken(*args, **kwargs):
        raise RuntimeError(secret)

    monkeypatch.setattr(mydata.enrolment, "guardian_data", broken)
    update = grandma.message_update(text="/mydata")
    with caplog.at_level(logging.INFO):
        sent = await grandma.feed(update)
    # In the guardian's own language (English), although Telegram says Chinese.
    assert text_of(sent).startswith("Sorry, something went wrong on our side.")
    assert secret not in caplog.text
    assert f"update_id={update.update_id}" in caplog.text and "RuntimeError" in caplog.text
    # Rolled back: the update is not marked handled, so a redelivery is tried again.
    assert await db.count(ProcessedUpdate, ProcessedUpdate.event_id == str(update.update_id)) == 0


async def test_unexpected_error_in_a_button_still_answers_it(person, world, monkeypatch, db):
    p = person("zh-hans")
    await p.send(f"/start {world.invitation_code}")

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(flow.enrolment, "choose_language", broken)
    sent = await p.tap("English")
    assert len(answered(sent)) == 1
    assert "对不起，我们这边出了点问题" in text_of(sent)
    assert (await db.all(Draft))[0].step == "language"


async def test_group_chats_are_ignored(person, world, bot, dp, db):
    p = person("zh")
    group = Chat(id=-100123, type="group")
    message = Message(message_id=1, date=p.message_update(text="x").message.date, chat=group,
                      from_user=p.user, text=f"/start {world.invitation_code}")
    before = len(bot.requests)
    await dp.feed_update(bot, Update(update_id=next_update_id(), message=message))
    assert bot.requests[before:] == []
    assert await db.count(Draft) == 0 and await db.count(Guardian) == 0


async def test_error_before_the_handler_answered_is_answered_by_the_error_handler(person, world, monkeypatch, bot):
    p = person("zh-hans")
    await p.send(f"/start {world.invitation_code}")
    await p.tap("简体中文")

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(flow.enrolment, "accept_consent", broken)
    sent = await p.tap("同意")  # press() checks it was answered exactly once
    assert "对不起，我们这边出了点问题" in text_of(sent)
    assert bot.session.refused == []


@pytest.mark.parametrize(
    ("language_code", "expected"),
    [("en-us", "Sorry, something went wrong"), ("zh-hant", "对不起，我们这边出了点问题"),
     ("fr", "对不起，我们这边出了点问题"), (None, "对不起，我们这边出了点问题")],
)
async def test_a_strangers_language_comes_from_telegram(person, world, monkeypatch, language_code, expected):
    async def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(start.enrolment, "resolve_code", broken)
    sent = await person(language_code).send("/start somecode")
    assert text_of(sent).startswith(expected)


async def test_a_failed_write_still_gets_a_kind_reply_in_their_language(enrol, monkeypatch, db, clock):
    """A failed flush rolls back and expires every loaded row; the error handler must not need them."""
    grandma = await enrol(locale="en")  # Telegram says Chinese; they chose English
    [earlier, *_] = await db.all(ProcessedUpdate)

    async def clashing(session, **kwargs):
        session.add(ProcessedUpdate(channel="telegram", event_id=str(earlier.update_id), processed_at=clock()))
        await session.flush()  # IntegrityError: that update id is taken

    monkeypatch.setattr(mydata.enrolment, "guardian_data", clashing)
    sent = await grandma.send("/mydata")
    assert text_of(sent).startswith("Sorry, something went wrong on our side.")
