"""One domain-error handler (bot/middlewares/refusals.py): a DomainError raised by a handler, or
by the core service it calls, becomes a clear reply in the person's language — a toast or a
pop-up on a tap, a message on a message — and never the "something went wrong" apology."""
from __future__ import annotations

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, SendMessage
from sqlalchemy import update

from bot.keyboards.alerts import AlertCB
from bot.keyboards.checkins import AnswerCB
from bot.keyboards.lessons import ReReadCB
from core.models import Staff
from harness import answered

APOLOGY = "Sorry, something went wrong on our side"


@pytest.mark.parametrize(("language", "words"), [
    ("zh-Hans", "这一课已经没有了。"),
    ("en", "This lesson is no longer available."),
])
async def test_a_guardian_tapping_a_lesson_that_is_gone_is_told_so(enrol, person, language, words):
    who = await enrol(person("en" if language == "en" else "zh-hans"), locale=language)
    requests = await who.press(ReReadCB(delivery_id=999).pack())  # core raises NotFound
    [reply] = answered(requests)
    assert (reply.text, reply.show_alert) == (words, False)
    assert not [m for m in requests if isinstance(m, SendMessage)]


async def test_a_stale_checkin_button_is_refused_and_its_buttons_go(enrol, person):
    who = await enrol(person("en"), locale="en")
    requests = await who.press(AnswerCB(checkin_id=999, item=0, value="0").pack(), message_id=7)
    [reply] = answered(requests)
    assert reply.text == "This button is from an old message and no longer works."
    assert [(m.message_id, m.reply_markup) for m in requests if isinstance(m, EditMessageReplyMarkup)] == [(7, None)]


@pytest.mark.parametrize(("language", "words"), [("zh-Hans", "这个已经不能用了。"),
                                                 ("en", "This is not available any more.")])
async def test_staff_tapping_another_cohorts_alert_get_a_pop_up(world, person, sessionmaker, language, words):
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Staff).values(locale=language))
    director = person("en" if language == "en" else "zh-hans")
    await director.send(f"/start {world.director_link_code}")
    requests = await director.press(AlertCB(alert_id=4242, action="open").pack())  # not found in their scope
    [reply] = answered(requests)
    assert (reply.text, reply.show_alert) == (words, True)
    assert not any(APOLOGY in (m.text or "") for m in requests if isinstance(m, SendMessage))


async def test_a_refusal_is_not_the_generic_apology(enrol, person):
    who = await enrol(person("en"), locale="en")
    requests = await who.press(ReReadCB(delivery_id=999).pack())
    assert all(isinstance(m, AnswerCallbackQuery) for m in requests)
