"""A reply Telegram rate-limits (429) is sent again after the pause, never dropped; the outbox
sender's own requests are left to the sender, and bulk sending pauses a beat longer."""
from __future__ import annotations

from aiogram.methods import SendMessage
from sqlalchemy import select

from bot.factory import install_reply_retry, reply_retry_of
from bot.retry import REPLY_HEAD_START
from core.delivery.outbox import LANE_URGENT, enqueue
from core.models import Delivery, ProcessedUpdate
from harness import text_of


class Sleeper:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def test_a_reply_hit_by_429_arrives_after_the_pause(bot, settings, person, world, sessionmaker):
    sleeper, pauses = Sleeper(), []
    install_reply_retry(bot, settings=settings, sleep=sleeper, on_pause=pauses.append)
    assert reply_retry_of(bot) is not None
    stranger = person()
    bot.session.fail_next(429, "Too Many Requests: retry after 7", retry_after=7)

    sent = await stranger.send("/help")

    assert sleeper.waits == [7.0]  # waited exactly what Telegram asked, without really sleeping
    assert [type(m) for m in bot.session.refused] == [SendMessage]
    assert [m.chat_id for m in sent if isinstance(m, SendMessage)] == [stranger.chat_id]
    assert text_of(sent) == bot.session.refused[0].text  # the same reply, not an apology
    assert pauses == [7.0 + REPLY_HEAD_START]  # the outbox holds bulk a beat longer: replies first
    async with sessionmaker() as session:  # the update's transaction was committed before the wait
        assert await session.scalar(select(ProcessedUpdate).limit(1)) is not None


async def test_retries_are_bounded(bot, settings, person, world):
    sleeper = Sleeper()
    install_reply_retry(bot, settings=settings.model_copy(update={"reply_retry_attempts": 3}), sleep=sleeper)
    stranger = person()
    for _ in range(3):
        bot.session.fail_next(429, "Too Many Requests: retry after 2", retry_after=2)

    sent = await stranger.send("/help")

    assert sleeper.waits == [2.0, 2.0]  # three tries in all, then the error handler: no apology into the limit
    assert sent == [] and len(bot.session.refused) == 3


async def test_a_wait_longer_than_the_limit_is_not_waited_out(bot, settings, person, world):
    sleeper = Sleeper()
    install_reply_retry(bot, settings=settings.model_copy(update={"reply_retry_max_wait_seconds": 60}),
                        sleep=sleeper)
    bot.session.fail_next(429, "Too Many Requests: retry after 3600", retry_after=3600)
    await person().send("/help")
    assert sleeper.waits == []


async def test_the_outbox_senders_requests_are_not_retried_here(bot, settings, sender, sessionmaker, clock, world):
    sleeper = Sleeper()
    install_reply_retry(bot, settings=settings, sleep=sleeper)
    async with sessionmaker() as session, session.begin():
        await enqueue(session, address="telegram:777", kind="campaign", ref="campaign:1", cycle="1", lane=LANE_URGENT,
                      due_at=clock(), now=clock(), payload={"texts": {"zh-Hans": "你好"}, "locale": "zh-Hans"})
    bot.session.fail_next(429, "Too Many Requests: retry after 5", retry_after=5)

    stats = await sender.drain_once()

    assert sleeper.waits == []  # the sender's answer to a 429: requeue the row and pause
    assert stats.retried == 1
    async with sessionmaker() as session:
        row = await session.scalar(select(Delivery))
    assert row is not None and row.state == "pending" and row.last_error == "rate_limited"


async def test_a_rate_limited_button_answer_does_not_hold_up_the_reply(bot, settings, enrol):
    from datetime import datetime, timezone

    from aiogram.methods import AnswerCallbackQuery
    from aiogram.types import CallbackQuery, Message, Update

    from harness import next_update_id

    sleeper = Sleeper()
    grandma = await enrol()
    install_reply_retry(bot, settings=settings, sleep=sleeper)
    await grandma.send("/stop")
    data, message_id = grandma._find(lambda b: b.text == "不，返回")
    query = CallbackQuery(id="cq-429", from_user=grandma.user, chat_instance="ci", data=data,
                          message=Message(message_id=message_id, date=datetime.now(timezone.utc), chat=grandma.chat,
                                          from_user=grandma.user, text="…"))
    bot.session.fail_next(429, "Too Many Requests: retry after 20", retry_after=20)  # the button's answer

    sent = await grandma.feed(Update(update_id=next_update_id(), callback_query=query))

    assert [type(m) for m in bot.session.refused] == [AnswerCallbackQuery]
    assert sleeper.waits == []  # nothing waited for a spinner, and the reply went out at once
    assert [m.text for m in sent if isinstance(m, SendMessage)] == ["好的，什么都没有改。"]


async def test_a_lesson_asked_for_and_hit_by_429_goes_out_through_the_outbox(bot, settings, enrol, sender, clock, db):
    """/lesson keeps its row as a safety net: a 429 hands the row to the sender (no wait in the
    handler, no dropped lesson); it goes out after the pause."""
    from datetime import timedelta

    sleeper = Sleeper()
    grandma = await enrol()
    install_reply_retry(bot, settings=settings, sleep=sleeper)
    bot.session.fail_next(429, "Too Many Requests: retry after 6", retry_after=6)

    assert await grandma.send("/lesson") == []
    [row] = await db.all(Delivery, Delivery.kind == "lesson")
    assert (row.state, row.due_at, row.last_error) == ("pending", clock() + timedelta(seconds=6), "rate_limited")
    assert sleeper.waits == []

    clock.advance(seconds=6)
    await sender.drain_once()
    [row] = await db.all(Delivery, Delivery.kind == "lesson")
    assert row.state == "sent" and grandma.last().reply_markup is not None  # the lesson, with its buttons
