"""One domain-error handler (bot/middlewares/refusals.py): a DomainError raised by a handler, or
by the core service it calls, becomes a clear reply in the person's language — a toast or a
pop-up on a tap, a message on a message — and never the "something went wrong" apology."""
from __future__ import annotations

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageReplyMarkup, SendMessage
from sqlalchemy import update

from bot.keyboards.alerts import AlertCB
from bot.keyboards.callbacks import ChildCB, SettingsCB
from bot.keyboards.checkins import AnswerCB
from bot.keyboards.lessons import ReReadCB
from core.models import Guardian, Staff
from core.models.enums import GuardianStatus, StaffRole
from harness import answered, text_of

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


# ---------------------------------------------------------------- words that name what was refused
# These handlers once had their own `except` blocks; the middleware says the same words now.


async def test_a_child_no_longer_on_the_list_and_the_last_child_are_told_below_the_tap(enrol, person, bot):
    who = await enrol(person("en"), locale="en")
    requests = await who.press(ChildCB(action="edit", child_id=999).pack())
    assert text_of(requests) == "This child is no longer on your list. Send /children to see it now."
    [child] = await _children(who)
    requests = await who.press(ChildCB(action="remove_yes", child_id=child).pack())
    assert text_of(requests) == "A family needs at least one child, so 小明 stays. To leave Shouwang, send /delete."
    assert len(answered(requests)) == 1 and bot.session.refused == []  # the tap answered once, as before


async def test_pausing_after_stopping_meanwhile_says_how_to_start_again(enrol, person, sessionmaker, bot):
    who = await enrol(person("en"), locale="en")
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Guardian).values(status=GuardianStatus.stopped))
    requests = await who.press(SettingsCB(action="pause").pack())
    assert text_of(requests) == "You have stopped all messages. To start again, send /start."
    assert bot.session.refused == []


async def test_checknow_names_the_household_or_says_who_may_send(world, enrol, person, sessionmaker):
    await enrol(person("en"), locale="en")
    director = person("zh-hans")
    await director.send(f"/start {world.director_link_code}")
    assert "您负责的范围里没有家庭 #77" in text_of(await director.send("/checknow 77 担心"))
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Staff).values(role=StaffRole.supervisor))
    assert text_of(await director.send("/checknow 1 担心")) == "只有这个村组的儿童主任才能发送问卷。"


async def test_myphone_refuses_any_text_that_is_no_number_even_a_far_too_long_one(world, person):
    director = person("zh-hans")
    await director.send(f"/start {world.director_link_code}")
    for text in ("12345", "1" * 40):
        assert text_of(await director.send(f"/myphone {text}")).startswith("对不起，这好像不是电话号码")


async def _children(who) -> list[int]:  # type: ignore[no-untyped-def]
    await who.send("/children")
    markup = who.last().reply_markup
    return [ChildCB.unpack(b.callback_data).child_id for row in markup.inline_keyboard for b in row
            if b.callback_data and ChildCB.unpack(b.callback_data).action == "edit"]
