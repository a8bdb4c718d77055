"""The directors' inbox through the production dispatcher: every kind of message a guardian sends
reaches every director of the cohort (the message copied, then the card), the relay both ways,
two directors on one item, the digest and the 72-hour escalation on an injected clock, the child
question for households with several children, and a second occurrence of an alert reaching
every director's phone within one tick."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
from aiogram.methods import CopyMessage, EditMessageText

from core.cohorts.schemas import CohortCreate
from core.cohorts.service import create_cohort
from core.models import Alert, Case, CaseEvent, Delivery, InboxItem, InboxMessage
from core.models.enums import StaffRole
from core.staff.schemas import StaffCreate
from core.staff.service import create_staff
from harness import Person, answered, text_of
from test_director import team_factory, tick  # noqa: F401 — shared fixtures

CARD_BUTTONS = ["↩️ 回复", "📞 已打电话", "✔️ 办完了"]
FAMILY = "王奶奶 · 13812345678 · 三组 村口小卖部旁 (家庭 #1) · 奶奶 / 外婆（和孩子住在一起）"
ACK = ("谢谢您。您的话已经转给儿童主任王主任了。王主任看到后会在这里回复您。\n"
       "如果孩子现在有危险，请马上打110（报警）或120（急救）。")
TWO_CHILDREN = (("小明", 2018, 5, "boy"), ("小红", 2020, 3, "girl"))


def inbox_cards(who: Person) -> list[str]:
    return [m.text for m in who.shown() if (m.text or "").startswith("<b>📨")]


def card(who: Person) -> str:
    cards = inbox_cards(who)
    assert cards, "no inbox card in this chat"
    return cards[-1]


def copies(who: Person) -> list[CopyMessage]:
    return [m for m in who.bot.requests if isinstance(m, CopyMessage) and m.chat_id == who.chat_id]


MEDIA = {
    "text": (lambda p: p.send("孩子最近不爱写作业，说他也不听，我不知道怎么办"), "“孩子最近不爱写作业，说他也不听，我不知道怎么办”"),
    "voice": (lambda p: p.send_voice(), "🎤 一段语音（在上面）"),
    "photo": (lambda p: p.send_photo(), "🖼 一张照片（在上面）"),
    "video": (lambda p: p.send_video(), "🎬 一段视频（在上面）"),
    "video_note": (lambda p: p.send_video_note(), "🎥 一段圆形小视频（在上面）"),
    "audio": (lambda p: p.send_audio(), "🎵 一段录音（在上面）"),
    "document": (lambda p: p.send_document(), "📄 一个文件（在上面）"),
}


@pytest.mark.parametrize("kind", list(MEDIA))
async def test_each_kind_of_message_reaches_every_director(team_factory, enrol, tick, db, kind):
    team = await team_factory()
    grandma = await enrol()
    send, shown = MEDIA[kind]
    sent = await send(grandma)
    # Committed before the reply, and the forward is an outbox row: nothing is lost if the
    # process stops now.
    [item] = await db.all(InboxItem)
    [message] = await db.all(InboxMessage)
    assert (item.state, item.child_id, message.kind, message.direction) == ("open", 1, kind, "in")
    assert message.address == grandma.address and message.provider_message_id
    if kind != "text":
        assert message.file_unique_id and message.media_type
    forwards = await db.all(Delivery, Delivery.kind == "inbox_forward")
    assert {(d.lane, d.state) for d in forwards} == {(0, "pending")} and len(forwards) == 2
    assert text_of(sent) == ACK
    await tick()
    for director in (team.wang, team.li):
        text = card(director)
        assert text.startswith("<b>📨 家人发来的消息</b> · 消息 #1\n" + FAMILY + "\n说的是：小明（8岁）")
        assert shown in text and "⏳ 还没有处理完" in text
        assert [t for t, _ in director.current_buttons()] == CARD_BUTTONS
        if kind == "text":
            assert copies(director) == []
        else:
            [copy] = copies(director)
            assert (copy.from_chat_id, str(copy.message_id)) == (grandma.chat_id, message.provider_message_id)
            # The card answers the copy, so the director sees the voice or photo right above it.
            card_message = [m for m in director.sent() if m.text.startswith("<b>📨")][-1]
            assert card_message.reply_to_message_id is not None
    assert not inbox_cards(team.supervisor)
    [message] = await db.all(InboxMessage)
    assert message.status == "shown"


async def test_a_guardian_who_stopped_the_messages_still_reaches_a_person(team_factory, enrol, tick, db):
    """STOP ends the programme's messages, not the way to a person: her words still go to the
    directors, and she is told how to start again."""
    team = await team_factory()
    grandma = await enrol()
    await grandma.send("/stop")
    await grandma.tap("是的，不再接收")
    sent = await grandma.send("主任你好，孩子他爸想找你说说")
    assert "您的话已经转给儿童主任王主任了" in text_of(sent) and "想重新开始，请发 /start" in text_of(sent)
    [item] = await db.all(InboxItem)
    assert item.state == "open"
    await tick()
    assert "“主任你好，孩子他爸想找你说说”" in card(team.wang)


async def test_a_sticker_gets_a_kind_answer_and_is_not_kept(enrol, db):
    grandma = await enrol()
    sent = await grandma.send_sticker()
    assert "表情图我没法转给主任" in text_of(sent) and "语音" in text_of(sent)
    assert await db.count(InboxItem) == 0


async def test_what_cannot_be_shown_is_kept_and_the_guardian_told_what_to_do(team_factory, enrol, tick, db, bot):
    team = await team_factory()
    grandma = await enrol()
    sent = await grandma.send_location()
    assert "没法原样转过去" in text_of(sent) and "110" in text_of(sent)
    await tick()
    assert "⚠️ 一条没法在这里显示的消息" in card(team.wang)
    # A voice note Telegram refuses to copy: the card alone, and the guardian is told.
    await grandma.send_voice()
    bot.session.fail_next(400, "Bad Request: message can't be copied")
    await tick()
    await tick()
    messages = await db.all(InboxMessage)
    assert [m.status for m in messages] == ["not_shown", "not_shown"]
    assert any("没法原样转过去" in m.text for m in grandma.sent())
    assert card(team.li).count("⚠️ 一条没法在这里显示的消息") == 2


async def test_the_relay_both_ways_with_the_thread_in_the_timeline(team_factory, enrol, tick, db, clock):
    team = await team_factory()
    grandma = await enrol()
    await grandma.send("孩子最近不爱写作业，说他也不听")
    await tick()
    clock.advance(hours=1)
    await team.wang.tap("↩️ 回复")
    assert "王主任回复您" in team.wang.last().text
    sent = await team.wang.send("奶奶您好，我明天上午过来看看")
    assert "已发出" in text_of(sent)
    await tick()
    assert grandma.last().text == "王主任回复您：奶奶您好，我明天上午过来看看"
    # Her answer (an hour later) joins the same item, is scanned first, and reaches both directors.
    clock.advance(hours=1)
    await grandma.send("好的，谢谢主任")
    await tick()
    assert await db.count(InboxItem) == 1
    thread = await db.all(InboxMessage)
    assert [(m.direction, m.status) for m in thread] == [("in", "shown"), ("out", "delivered"), ("in", "shown")]
    for director in (team.wang, team.li):
        text = card(director)
        assert "↩️ 11-23 13:00 王主任: “奶奶您好，我明天上午过来看看” · 已送到" in text
        assert "“好的，谢谢主任”" in text
    # A voice reply is copied as it is.
    await team.li.tap("↩️ 回复")
    await team.li.feed(team.li.message_update(voice=__import__("aiogram").types.Voice(
        file_id="lv", file_unique_id="lv", duration=4)))
    await tick()
    assert grandma.last().text == "李主任给您回了一段语音："
    assert copies(grandma)[-1].from_chat_id == team.li.chat_id
    # The household's timeline holds the whole conversation (ids only, the words stay with the item).
    events = await db.all(CaseEvent, CaseEvent.household_id == 1)
    assert [(e.kind, e.detail["inbox_message_id"]) for e in sorted(events, key=lambda e: e.id) if e.kind.startswith("inbox_")] == [("inbox_in", 1), ("inbox_out", 2), ("inbox_in", 3), ("inbox_out", 4)]


async def test_a_reply_to_a_guardian_who_blocked_the_bot_is_marked_on_the_card(team_factory, enrol, tick, db, bot):
    team = await team_factory()
    grandma = await enrol()
    await grandma.send("我想问问主任一件事")
    await tick()
    await team.wang.tap("↩️ 回复")
    await team.wang.send("奶奶您说")
    bot.session.fail_next(403, "Forbidden: bot was blocked by the user")
    await tick()
    [out] = await db.all(InboxMessage, InboxMessage.direction == "out")
    assert out.status == "undelivered"
    for director in (team.wang, team.li):
        assert "⚠️ 没有送到" in card(director)
    # And the next reply is refused at once, with what to do.
    await team.wang.tap("↩️ 回复")
    sent = await team.wang.send("奶奶？")
    assert "联系不上这家人" in text_of(sent)


async def test_two_directors_one_marks_done_the_other_card_changes(team_factory, enrol, tick, db):
    team = await team_factory()
    grandma = await enrol()
    await grandma.send("孩子爸爸好久没打电话了")
    await tick()
    sent = await team.wang.tap("📞 已打电话")
    assert answered(sent)[0].text == "已记下：打过电话了。"
    sent = await team.wang.tap("✔️ 办完了")
    assert answered(sent)[0].text == "已标记为处理完。谢谢您。"
    edits = [m for m in sent if isinstance(m, EditMessageText)]
    assert {m.chat_id for m in edits} == {team.wang.chat_id, team.li.chat_id}
    for director in (team.wang, team.li):
        assert "✔️ 王主任已于11-23 12:00处理完" in card(director)
        assert [t for t, _ in director.current_buttons()] == ["↩️ 回复"]
    sent = await team.li.tap("✔️ 办完了", even_removed=True)
    assert answered(sent)[0].text == "这条消息已经处理完了。"
    [item] = await db.all(InboxItem)
    assert (item.state, item.done_by_staff_id) == ("done", 2)
    assert await db.count(CaseEvent, CaseEvent.kind == "contact") == 1


async def test_inbox_command_and_another_cohorts_director_gets_not_found(team_factory, enrol, tick, person,
                                                                         sessionmaker, clock):
    team = await team_factory()
    grandma = await enrol()
    await grandma.send("孩子这几天咳嗽")
    await tick()
    sent = await team.li.send("/inbox")
    assert "消息 #1" in text_of(sent) and "“孩子这几天咳嗽”" in text_of(sent)
    async with sessionmaker() as session, session.begin():
        other = await create_cohort(session, data=CohortCreate(name="柳树村"), now=clock())
        issued = await create_staff(session, data=StaffCreate(display_name="孙主任", role=StaffRole.director,
                                                              cohort_ids=[other.id]),
                                    actor_id=None, now=clock(), link_days=7)
    sun = person()
    await sun.send(f"/start {issued.link_code}")
    assert "现在没有待处理的家人消息" in text_of(await sun.send("/inbox"))
    for action in ("reply", "done", "call", "open"):
        sent = await sun.press(f"ib1:1:{action}")
        assert answered(sent)[0].text == "这条消息现在已经不能用了。" or "不能" in answered(sent)[0].text


async def test_the_daily_digest_and_the_72_hour_escalation(team_factory, enrol, tick, db, clock):
    team = await team_factory()
    grandma = await enrol()
    await grandma.send("主任，孩子学校的事想问问")  # 12:00 local
    await tick()
    clock.advance(hours=5, minutes=59)  # 17:59: not yet
    await tick()
    assert not [m for m in team.wang.sent() if m.text.startswith("📨 还没有人看过")]
    clock.advance(minutes=2)  # 18:01
    await tick()
    await tick()
    for director in (team.wang, team.li):
        [digest] = [m for m in director.sent() if m.text.startswith("📨 还没有人看过")]
        assert "消息 #1" in digest.text and FAMILY in digest.text and "/inbox" in digest.text
    assert await db.count(Delivery, Delivery.kind == "inbox_digest") == 2  # one each, once a day
    # Nobody marks it done for 72 hours: a yellow alert, up the ladder to the supervisor.
    clock.set(datetime(2026, 11, 26, 4, 1, tzinfo=timezone.utc))
    await tick()
    [alert] = await db.all(Alert)
    assert (alert.severity, alert.questionnaire_id, alert.rule_id, alert.escalation_level) == (
        "yellow", "inbox", "inbox_not_done", 1)
    [item] = await db.all(InboxItem)
    assert item.escalation_alert_id == alert.id
    sup = [m.text for m in team.supervisor.shown() if (m.text or "").startswith("⚠️")]
    assert sup and "🟡 黄色警报" in sup[-1] and "“主任，孩子学校的事想问问”" in sup[-1]
    # Marking the item done resolves it.
    await team.wang.tap("✔️ 办完了")
    [alert] = await db.all(Alert)
    assert alert.status == "resolved"
    clock.advance(days=1)
    await tick()
    assert await db.count(Delivery, Delivery.kind == "inbox_digest") == 2  # read and done: no digest


async def test_several_children_the_guardian_is_asked_which(team_factory, enrol, tick, db):
    team = await team_factory()
    grandma = await enrol(children=TWO_CHILDREN)
    sent = await grandma.send("孩子这几天不吃饭")
    assert "您说的是哪个孩子" in text_of(sent)
    assert [t for t, _ in grandma.last_buttons()] == ["小明", "小红", "全家"]
    await tick()
    assert not inbox_cards(team.wang)  # not red: it waits for her answer
    sent = await grandma.tap("小红")
    assert "已经转给儿童主任王主任" in text_of(sent)
    await tick()
    assert "说的是：小红（6岁）" in card(team.wang)
    # Words that name a child need no question; words about the other child, even a minute
    # later, are that child's own item (never joined to 小红's).
    sent = await grandma.send("小明也不太吃东西")
    assert "哪个孩子" not in text_of(sent)
    await grandma.send("小明这两天还咳嗽")  # joins 小明's
    grandma2 = await enrol(children=TWO_CHILDREN)
    sent = await grandma2.send("小明最近老是发脾气")
    assert "哪个孩子" not in text_of(sent)
    items = await db.all(InboxItem)
    assert [(i.child_id, i.state) for i in items] == [(2, "open"), (1, "open"), (3, "open")]
    assert await db.count(InboxMessage, InboxMessage.item_id == 2) == 2


async def test_several_children_a_red_alert_goes_at_once_and_is_refiled(team_factory, enrol, tick, db):
    team = await team_factory()
    grandma = await enrol(children=TWO_CHILDREN)
    sent = await grandma.send("他昨天说不想活了")
    assert "110" in text_of(sent) and "您说的是哪个孩子" in text_of(sent)
    [alert] = await db.all(Alert)
    assert alert.subject_key == "household:1"
    await tick()
    assert "🔴 红色警报" in team.wang.last_shown().text  # at once, before the answer
    await grandma.tap("小红")
    [alert] = await db.all(Alert)
    [case] = await db.all(Case)
    assert (alert.subject_key, alert.child_id, case.subject_key, case.child_id) == ("child:2", 2, "child:2", 2)
    [item] = await db.all(InboxItem)
    assert (item.child_id, item.alert_id, item.case_id) == (2, alert.id, case.id)
    await tick()
    assert "小红（6岁）" in [m.text for m in team.li.shown() if m.text.startswith("<b>🔴")][-1]


async def test_a_second_occurrence_reaches_every_director_within_one_tick(team_factory, enrol, tick, db, clock):
    team = await team_factory()
    grandma = await enrol()
    await grandma.send("她说活着没意思，不想活了")
    await tick()
    [alert] = await db.all(Alert)
    deadline = alert.escalate_at
    clock.advance(minutes=20)
    await grandma.send("她说要去死")
    await tick()  # one tick
    [alert] = await db.all(Alert)
    assert alert.occurrences == 2 and alert.escalate_at == deadline  # the clock does not restart
    for director in (team.wang, team.li):
        news = [m for m in director.sent() if m.text.startswith("<b>新情况")]
        assert len(news) == 1 and "“她说要去死”" in news[0].text and "🔴 红色警报 · 个案 #1" in news[0].text
        assert [t for t, _ in director.last_buttons()] == ["打开警报"]
        cards = [m for m in director.shown() if isinstance(m, EditMessageText) and m.text.startswith("<b>🔴")]
        assert cards and "已出现2次" in cards[-1].text
    assert {d.lane for d in await db.all(Delivery, Delivery.kind == "alert_news")} == {0}


async def test_a_director_who_blocked_the_bot_the_supervisor_gets_the_message(team_factory, enrol, tick, db, bot):
    team = await team_factory(link=("wang", "supervisor", "admin"))
    grandma = await enrol()
    await grandma.send("孩子发烧了，怎么办")
    bot.session.fail_next(403, "Forbidden: bot was blocked by the user")
    await tick()
    assert not inbox_cards(team.wang)
    assert "“孩子发烧了，怎么办”" in card(team.supervisor)
    [message] = await db.all(InboxMessage)
    assert message.status == "shown"  # never "could not be shown": it was the director's chat
    assert not any("没法原样转过去" in m.text for m in grandma.sent())


async def test_the_conversation_shows_in_the_childs_case(team_factory, enrol, tick, db, clock):
    team = await team_factory()
    grandma = await enrol()
    await grandma.send("他昨天说不想活了")
    await tick()
    clock.advance(minutes=15)
    await grandma.send("今天他好一点了，吃了饭")
    await tick()
    items = await db.all(InboxItem)
    assert [(i.child_id, i.case_id) for i in items] == [(1, 1), (1, 1)]
    await team.wang.press("ib1:2:reply")
    await team.wang.send("好的奶奶，我晚上打电话给您")
    events = await db.all(CaseEvent, CaseEvent.case_id == 1)
    assert [e.kind for e in sorted(events, key=lambda e: e.id)] == ["alert", "inbox_in", "inbox_in", "inbox_out"]
    text = text_of(await team.wang.send("/case 1"))
    assert "家人发来的消息（消息 #2；/inbox）" in text and "王主任回复了家人（消息 #2）" in text


async def test_a_long_conversation_still_fits_on_the_card(team_factory, enrol, tick, db, clock):
    team = await team_factory()
    grandma = await enrol()
    for n in range(12):
        await grandma.send(f"第{n}段：" + "孩子的事我想多说几句，" * 60)
        clock.advance(minutes=1)
    await tick()
    assert await db.count(InboxItem) == 1 and await db.count(InboxMessage) == 12
    text = card(team.li)
    assert len(text) <= 4096 and "前面还有4条消息" in text and "第11段" in text and "第3段" not in text


async def test_an_orange_message_raises_an_orange_alert_and_an_honest_reply(team_factory, enrol, tick, db):
    team = await team_factory()
    grandma = await enrol()
    sent = await grandma.send("孩子手上有几道印子")
    # no safety message for orange: the director will read it today (and 110/120 for danger now)
    assert text_of(sent).startswith("谢谢您告诉我们。您村的儿童主任王主任今天会看您发的话") and "110" in text_of(sent)
    [alert] = await db.all(Alert)
    [item] = await db.all(InboxItem)
    assert (alert.severity, alert.subject_key, item.alert_id) == ("orange", "child:1", alert.id)
    await tick()
    assert "🟠 橙色警报" in team.wang.last_shown().text and "“孩子手上有几道印子”" in team.wang.last_shown().text
