"""Delivery preferences in /settings (time zone, quiet hours), and a guardian who blocked the
bot becoming reachable again when they write to it."""
from __future__ import annotations

from datetime import datetime, timezone

from aiogram.types import ChatMemberBanned, ChatMemberMember, ChatMemberUpdated, Update

from bot.keyboards.callbacks import PrefCB
from core.delivery.planning import plan_due_lessons
from core.models import Delivery, Guardian
from harness import answered, next_update_id, text_of
from tests.endpoints import at

MON_20_SHANGHAI = datetime(2026, 11, 23, 12, 0, tzinfo=timezone.utc)
MON_20_DUBAI = datetime(2026, 11, 23, 16, 0, tzinfo=timezone.utc)


async def the_guardian(db, chat_id: int) -> Guardian:  # type: ignore[no-untyped-def]
    [guardian] = await db.all(Guardian, at(chat_id))
    return guardian


# ------------------------------------------------------------------ time zone


async def test_settings_shows_time_zone_and_quiet_hours(enrol):
    grandma = await enrol()
    text = text_of(await grandma.send("/settings"))
    assert "时区：北京时间（和家里一样）" in text and "休息时间：21:30–08:00" in text


async def test_a_parent_abroad_chooses_their_time_zone(enrol, person, db):
    dad = await enrol(person("en"), locale="en", relationship="father", lives_with=False)
    await dad.send("/settings")
    sent = await dad.tap("My time zone")
    assert "Where are you now?" in text_of(sent)
    # Home first (ticked), then each zone with its time now (04:00 UTC).
    assert [text for text, _ in dad.last_buttons()] == [
        "✓ Same as home (Beijing time)", "Xinjiang time · 10:00", "Japan · 13:00", "South Korea · 13:00",
        "Singapore · 12:00", "Dubai · 08:00", "Moscow · 07:00",
    ]
    sent = await dad.tap("Dubai · 08:00")
    assert text_of(sent) == "Done. Lessons now follow the clock of: Dubai (it is 08:00 there now)."
    assert (await the_guardian(db, dad.chat_id)).timezone == "Asia/Dubai"
    assert "Time zone: Dubai\n" in text_of(await dad.send("/settings"))

    await dad.tap("My time zone")
    assert "✓ Dubai · 08:00" in [text for text, _ in dad.last_buttons()]
    sent = await dad.tap("Same as home (Beijing time)")
    assert text_of(sent) == (
        "Done. Lessons now follow the clock of: Beijing time (same as home) (it is 12:00 there now).")
    assert (await the_guardian(db, dad.chat_id)).timezone is None


async def test_time_zone_in_chinese(enrol, db):
    grandma = await enrol()
    await grandma.send("/settings")
    await grandma.tap("我所在的时区")
    assert "您现在在哪里？" in grandma.last().text
    assert grandma.last_buttons()[0][0] == "✓ 和家里一样（北京时间）"
    sent = await grandma.tap("新疆时间 · 10:00")
    assert text_of(sent) == "好了。以后小课按这里的时间发给您：新疆时间（那里现在是10:00）。"
    assert (await the_guardian(db, grandma.chat_id)).timezone == "Asia/Urumqi"


async def test_a_parent_in_dubai_gets_the_lesson_at_eight_in_the_evening_there(
    enrol, person, db, clock, sender, sessionmaker, schedule_lessons
):
    grandma = await enrol()
    dad = await enrol(person("en"), locale="en", relationship="father", lives_with=False)
    await dad.press(PrefCB(what="tz", value="Asia/Dubai").pack())
    await schedule_lessons(["mon"], "20:00")

    clock.set(MON_20_SHANGHAI)
    assert await plan_due_lessons(sessionmaker, now=clock()) == 1
    assert (await sender.drain_once()).sent == 1
    assert [d.address for d in await db.all(Delivery, Delivery.kind == "lesson")] == [grandma.address]
    dad_messages = len(dad.sent())

    clock.set(MON_20_DUBAI)
    assert await plan_due_lessons(sessionmaker, now=clock()) == 1
    assert (await sender.drain_once()).sent == 1
    assert len(dad.sent()) == dad_messages + 1
    [lesson] = await db.all(Delivery, Delivery.kind == "lesson", Delivery.address == dad.address)
    assert (lesson.due_at, lesson.sent_at, lesson.cycle) == (MON_20_DUBAI, MON_20_DUBAI, "2026-11-23T20:00")


# ------------------------------------------------------------------ quiet hours


async def test_choose_quiet_hours(enrol, db):
    grandma = await enrol()
    await grandma.send("/settings")
    sent = await grandma.tap("休息时间（不发小课）")
    assert "您希望什么时候不收小课？" in text_of(sent)
    assert [text for text, _ in grandma.last_buttons()] == [
        "✓ 21:30–08:00 · 平常作息", "22:30–08:00", "23:30–09:00 · 我下班晚", "21:00–07:00 · 我睡得早"]
    sent = await grandma.tap("23:30–09:00 · 我下班晚")
    assert text_of(sent) == "好了。每天23:30到09:00之间，不会给您发小课。"
    guardian = await the_guardian(db, grandma.chat_id)
    assert (guardian.quiet_start, guardian.quiet_end) == ("23:30", "09:00")
    assert "休息时间：23:30–09:00" in text_of(await grandma.send("/settings"))


async def test_quiet_hours_in_english(enrol, db):
    dad = await enrol(locale="en")
    await dad.send("/settings")
    await dad.tap("Quiet hours")
    assert [text for text, _ in dad.last_buttons()][2:] == [
        "23:30–09:00 · I finish work late", "21:00–07:00 · I go to bed early"]
    sent = await dad.tap("21:00–07:00 · I go to bed early")
    assert text_of(sent) == "Done. We will not send you lessons between 21:00 and 07:00."
    guardian = await the_guardian(db, dad.chat_id)
    assert (guardian.quiet_start, guardian.quiet_end) == ("21:00", "07:00")


async def test_made_up_preferences_are_refused_and_change_nothing(enrol, db):
    grandma = await enrol(locale="en")
    for data in (
        PrefCB(what="tz", value="Mars/Olympus").pack(),
        PrefCB(what="quiet", value="2500-0800").pack(),
        PrefCB(what="quiet", value="2130").pack(),
        PrefCB(what="quiet", value="0800-0800").pack(),
    ):
        sent = await grandma.press(data)
        assert text_of(sent) == "Sorry, that did not work. Please try again."
    guardian = await the_guardian(db, grandma.chat_id)
    assert (guardian.timezone, guardian.quiet_start, guardian.quiet_end) == (None, "21:30", "08:00")


async def test_a_stopped_guardian_cannot_change_preferences(enrol, db):
    grandma = await enrol()
    await grandma.send("/stop")
    await grandma.tap("是的，不再接收")
    sent = await grandma.press(PrefCB(what="tz", value="Asia/Tokyo").pack())
    assert "想重新开始，请发 /start" in text_of(sent)
    assert (await the_guardian(db, grandma.chat_id)).timezone is None


async def test_mydata_mentions_time_zone_and_quiet_hours(enrol):
    grandma = await enrol()
    await grandma.press(PrefCB(what="tz", value="Asia/Tokyo").pack())
    await grandma.press(PrefCB(what="quiet", value="2230-0800").pack())
    text = text_of(await grandma.send("/mydata"))
    assert "• 小课按这个时间发：日本" in text and "• 休息时间（不发小课）：22:30–08:00" in text

    dad = await enrol(locale="en")
    text = text_of(await dad.send("/mydata"))
    assert "• Time zone for lessons: Beijing time (same as home)" in text
    assert "• Quiet hours, no lessons: 21:30–08:00" in text


# ------------------------------------------------------------------ reachable again


async def test_a_guardian_who_blocked_the_bot_is_reachable_again_when_they_write(
    enrol, db, bot, clock, sender, sessionmaker, schedule_lessons
):
    grandma = await enrol()
    await schedule_lessons(["mon"], "20:00")
    clock.set(MON_20_SHANGHAI)
    await plan_due_lessons(sessionmaker, now=clock())
    bot.session.fail_next(403, "Forbidden: bot was blocked by the user")
    assert (await sender.drain_once()).blocked == 1
    assert (await the_guardian(db, grandma.chat_id)).unreachable_at == MON_20_SHANGHAI

    clock.advance(days=7)  # blocked: next week's lesson is not even planned
    assert await plan_due_lessons(sessionmaker, now=clock()) == 0

    clock.advance(hours=1)
    await grandma.send("你好")  # they unblocked the bot and wrote to it
    guardian = await the_guardian(db, grandma.chat_id)
    assert guardian.unreachable_at is None and guardian.updated_at == clock()

    clock.advance(days=7)
    assert await plan_due_lessons(sessionmaker, now=clock()) == 1
    assert (await sender.drain_once()).sent == 1


async def test_a_button_tap_also_makes_them_reachable(enrol, db, sessionmaker, clock):
    grandma = await enrol()
    async with sessionmaker() as session, session.begin():
        guardian = await session.get(Guardian, (await the_guardian(db, grandma.chat_id)).id)
        guardian.unreachable_at = clock()
    sent = await grandma.press(PrefCB(what="quiet_menu").pack())
    assert answered(sent)
    assert (await the_guardian(db, grandma.chat_id)).unreachable_at is None


async def test_telegram_saying_they_blocked_us_does_not_make_them_reachable(enrol, db, sessionmaker, clock):
    grandma = await enrol()
    async with sessionmaker() as session, session.begin():
        guardian = await session.get(Guardian, (await the_guardian(db, grandma.chat_id)).id)
        guardian.unreachable_at = clock()
    blocked = ChatMemberUpdated(
        chat=grandma.chat, from_user=grandma.user, date=clock(),
        old_chat_member=ChatMemberMember(user=grandma.bot._me),
        new_chat_member=ChatMemberBanned(user=grandma.bot._me, until_date=0),
    )
    await grandma.feed(Update(update_id=next_update_id(), my_chat_member=blocked))
    assert (await the_guardian(db, grandma.chat_id)).unreachable_at == clock()
