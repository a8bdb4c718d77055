"""Check-ins through the production dispatcher, as guardians live them: the tick plans them, the
outbox sender delivers the first question, each tap is stored and the next question shown, with
back, resume after a restart, reminders, expiry, a second guardian, red answers and free text."""
from __future__ import annotations

import asyncio
import re
from datetime import datetime, timedelta, timezone

import pytest
from aiogram.methods import AnswerCallbackQuery, EditMessageText, SendMessage

from bot.factory import build_dispatcher
from bot.keyboards.checkins import CheckinNavCB
from core.checkin.planning import run_checkin_tick
from core.models import Alert, Answer, CheckIn, CheckInScore, Delivery, FreeText, Guardian, InboxItem, InboxMessage
from aiogram.types import CallbackQuery, Message, Update

from harness import Person, answered, next_update_id, text_of
from tests.endpoints import at

SUNDAY_1905 = datetime(2026, 11, 29, 11, 5, tzinfo=timezone.utc)  # 19:05 in Shanghai: the weekly slot
FIRST_SATURDAY = datetime(2026, 12, 5, 2, 5, tzinfo=timezone.utc)  # 10:05: PSC-17, first weekend
SECOND_SATURDAY_Q1 = datetime(2027, 1, 9, 2, 5, tzinfo=timezone.utc)  # 10:05: WHO-5, once a quarter

WORDS = {
    "zh-Hans": {
        "weekly_intro": "<b>每周问候</b>\n问问小明这一周过得怎么样。一共6个问题，大约1分钟。\n照实际情况选就好，没有对错。",
        "mood": "这一周，小明的心情怎么样？",
        "mood_choices": ["大多时候开心", "有时不开心", "常常不开心、哭或发脾气"],
        "q2": "<b>每周问候</b> · <b>2/6</b>\n这一周，小明睡觉和吃饭怎么样？",
        "back": "⬅️ 上一题",
        "thanks": "谢谢您！问题都答完了。",
        "no_note": "没有了",
        "bye": "好的。谢谢您花时间回答！",
        "safety": "马上打 110（报警）或 120（急救）",
        "director": "• 您村的儿童主任：王主任",
        "note_kept": "谢谢您。您说的话已经保存好，留给儿童主任看。",
        "psc_stem": "关于小明：",
        "who_title": "您最近好吗？（WHO-5）",
        "reminder_started": "温馨提醒：您已经回答了6个问题中的2个，接着上次的地方继续吧：",
        "reminder_fresh": "温馨提醒：关于小明的几个问题还在等您回答，只要一两分钟。",
        "closed": "关于小明的这次问题已经结束了。谢谢您，您回答过的都保存好了。下次的问题会照常发给您。",
        "closed_tap": "这次的问题已经结束了，下次的会照常发给您。谢谢您！",
        "being_answered": "家里已经有人在回答这些问题了。谢谢您！",
        "answered_by_other": "家里已经有人回答了这些问题。谢谢您！",
        "tap_answer": "请点一下问题下面的一个答案。",
        "nothing_waiting": "现在没有要回答的问题。谢谢您！下次的问题会照常发给您。",
        "not_understood": "对不起，我没看懂。",
    },
    "en": {
        "weekly_intro": "<b>Weekly check-in</b>\nA few questions about how 小明's week went: 6 questions, about a minute."
                        "\nJust choose what fits. There are no right or wrong answers.",
        "mood": "This week, how has 小明's mood been?",
        "mood_choices": ["Happy most of the time", "Unhappy at times", "Often unhappy, crying or angry"],
        "q2": "<b>Weekly check-in</b> · <b>2/6</b>\nThis week, how have 小明's sleep and appetite been?",
        "back": "⬅️ Back",
        "thanks": "Thank you! That was the last question.",
        "no_note": "No, that's all",
        "bye": "All right. Thank you for your time!",
        "safety": "Call 110 (police) or 120 (ambulance) at once.",
        "director": "• Your child director: 王主任",
        "note_kept": "Thank you. Your note is kept for the child director.",
        "psc_stem": "About 小明:",
        "who_title": "How are you? (WHO-5)",
        "reminder_started": "A gentle reminder: you have answered 2 of 6. Carry on where you left off:",
        "reminder_fresh": "A gentle reminder: the questions about 小明 are still waiting. They take a minute or two.",
        "closed": "The questions about 小明 have closed. Thank you for the answers you gave: they are kept. "
                  "New questions will come as usual.",
        "closed_tap": "These questions have closed. New ones will come as usual. Thank you!",
        "being_answered": "Someone in your family is answering these questions. Thank you!",
        "answered_by_other": "Someone in your family has answered these questions. Thank you!",
        "tap_answer": "Please tap one of the answers under the question.",
        "nothing_waiting": "There are no questions waiting for you now. Thank you! New ones will come as usual.",
        "not_understood": "Sorry, I did not understand that.",
    },
}
LOCALES = ["zh-Hans", "en"]
PSC17_ITEMS = ["fidgety", "sad", "daydreams", "refuses_to_share", "others_feelings", "hopeless", "concentrating",
               "fights", "down_on_self", "blames_others", "less_fun", "rules", "motor", "teases", "worries",
               "takes_things", "distracted"]


@pytest.fixture
def tick(sessionmaker, clock, sender):  # type: ignore[no-untyped-def]
    """Run the check-in tick at the clock's time, then let the outbox sender send what is due."""

    async def run():  # type: ignore[no-untyped-def]
        result = await run_checkin_tick(sessionmaker, now=clock())
        while (stats := await sender.drain_once()).claimed:
            if stats.deferred:
                clock.advance(seconds=1)  # one message per second per chat
        return result

    return run


async def join(person_factory, guardian: Person, *, locale: str = "zh-Hans", relationship: str = "grandfather",
               lives_with: bool = True) -> Person:
    """A second guardian joins through the first one's /invite link."""
    sent = await guardian.send("/invite")
    code = re.search(r"start=(h[a-z0-9]+)", text_of(sent)).group(1)  # type: ignore[union-attr]
    other = person_factory()
    await other.send(f"/start {code}")
    await other.choose(locale)
    await other.consent(True)
    await other.choose(relationship)
    await other.choose("with" if lives_with else "away")
    await other.identity("王爸爸", None, None)
    await other.choose("yes")
    return other


def question_texts(requests) -> list[str]:  # type: ignore[no-untyped-def]
    return [m.text for m in requests if isinstance(m, (SendMessage, EditMessageText)) and m.text]


async def only_checkin(db) -> CheckIn:  # type: ignore[no-untyped-def]
    [checkin] = await db.all(CheckIn)
    return checkin


async def answers(db, checkin_id: int) -> dict[str, int]:  # type: ignore[no-untyped-def]
    return {a.item_id: a.value for a in await db.all(Answer, Answer.check_in_id == checkin_id)}


# ------------------------------------------------------------------ each instrument, both languages


@pytest.mark.parametrize("locale", LOCALES)
async def test_weekly_checkin_from_first_message_to_thank_you(enrol, db, clock, tick, locale):
    words = WORDS[locale]
    grandma = await enrol(locale=locale)
    clock.set(SUNDAY_1905)
    planned = await tick()
    assert (planned.rounds, planned.checkins, planned.deliveries) == (1, 1, 1)

    first = grandma.last_shown()
    assert first.text == f"{words['weekly_intro']}\n\n<b>1/6</b>\n{words['mood']}"
    assert [t for t, _ in grandma.current_buttons()] == words["mood_choices"]  # no "back" on the first

    sent = await grandma.answer(1)
    [edit] = [m for m in sent if isinstance(m, EditMessageText)]  # the same message becomes question 2
    assert edit.message_id == first_message_id(grandma, first) and edit.text.startswith(words["q2"])
    assert grandma.current_buttons()[-1][0] == words["back"]
    checkin = await only_checkin(db)
    assert await answers(db, checkin.id) == {"mood": 1}  # stored with the tap, not at the end

    for value in (0, 0, 3, 0):
        await grandma.answer(value)
    assert grandma.last_shown().text.startswith(re.sub(r"2/6.*", "6/6</b>", words["q2"], flags=re.S))
    sent = await grandma.answer(0)
    assert text_of(sent).startswith(words["thanks"])
    assert [t for t, _ in grandma.current_buttons()] == [words["no_note"]]
    checkin = await only_checkin(db)
    assert (checkin.state, checkin.note_state, checkin.claimed_by_guardian_id) == ("completed", "asked",
                                                                                    checkin.claimed_by_guardian_id)
    assert await answers(db, checkin.id) == {"mood": 1, "sleep_appetite": 0, "school": 0, "parent_contact": 3,
                                            "upsetting_event": 0, "safety": 0}
    assert await db.count(Alert) == 0  # nothing worrying: no alert, no lesson
    assert await db.count(Delivery, Delivery.kind == "lesson") == 0

    sent = await grandma.tap(words["no_note"])
    assert text_of(sent) == words["bye"]
    assert (await only_checkin(db)).note_state == "skipped"


def first_message_id(person: Person, method) -> int:  # type: ignore[no-untyped-def]
    index = next(i for i, m in enumerate(person.bot.requests) if m is method)
    return person.bot.session.results[index].message_id


@pytest.mark.parametrize("locale", LOCALES)
async def test_psc17_scored_with_exact_subscales_and_a_fitting_lesson(enrol, db, clock, tick, bot, locale):
    words = WORDS[locale]
    grandma = await enrol(locale=locale)  # 小明, 8 years old
    clock.set(FIRST_SATURDAY)
    await tick()
    assert f"<b>1/17</b>\n{words['psc_stem']}\n" in grandma.last_shown().text
    given = {"sad": 2, "hopeless": 2, "worries": 1, "fidgety": 1, "fights": 1}  # I = 5, A = 1, E = 1, total 7
    for item in PSC17_ITEMS:
        await grandma.answer(given.get(item, 0))
        if item != PSC17_ITEMS[-1]:
            assert f"<b>{PSC17_ITEMS.index(item) + 2}/17</b>" in grandma.last_shown().text
    checkin = await only_checkin(db)
    assert checkin.state == "completed"
    scores = {s.scale_id: (s.raw, s.status, s.cutoffs) for s in await db.all(CheckInScore)}
    assert scores == {"total": (7, "complete", []), "internalising": (5, "complete", ["positive"]),
                      "attention": (1, "complete", []), "externalising": (1, "complete", [])}
    [alert] = await db.all(Alert)
    assert (alert.rule_id, alert.severity, alert.child_id) == ("internalising_positive", "orange", checkin.child_id)

    # The fitting lesson goes out through the outbox, with its feedback buttons.
    await tick()
    [lesson] = await db.all(Delivery, Delivery.kind == "lesson")
    assert (lesson.lesson_id, lesson.state, lesson.ref) == ("helping_a_sad_child", "sent", f"checkin:{checkin.id}")
    assert grandma.last().reply_markup is not None and "l1:" in grandma.last_buttons()[0][1]


@pytest.mark.parametrize("locale", LOCALES)
async def test_who5_is_about_the_guardian_and_leads_to_support_not_a_child_alarm(enrol, db, clock, tick, locale):
    words = WORDS[locale]
    grandma = await enrol(locale=locale)
    clock.set(SECOND_SATURDAY_Q1)
    await tick()
    assert grandma.last_shown().text.startswith(f"<b>{words['who_title']}</b>")
    assert "小明" not in grandma.last_shown().text
    for _ in range(5):
        await grandma.answer(2)  # "less than half of the time": raw 10, 40 %
    checkin = await only_checkin(db)
    assert (checkin.state, checkin.child_id, checkin.subject_guardian_id) == ("completed", None,
                                                                               checkin.subject_guardian_id)
    [score] = await db.all(CheckInScore)
    assert (score.scale_id, score.raw, score.scaled) == ("wellbeing", 10, 40)
    [alert] = await db.all(Alert)
    assert (alert.rule_id, alert.audience, alert.child_id, alert.subject_key) == (
        "poor_wellbeing", "guardian", None, f"guardian:{checkin.subject_guardian_id}")
    await tick()
    [lesson] = await db.all(Delivery, Delivery.kind == "lesson")
    assert lesson.lesson_id == "caregiver_self_care"


# ------------------------------------------------------------------ stop, resume, back


async def test_stop_halfway_and_resume_after_a_restart(enrol, db, clock, tick, settings, sessionmaker, bot):
    grandma = await enrol()
    clock.set(SUNDAY_1905)
    await tick()
    await grandma.answer(0)
    await grandma.answer(1)
    old_message = grandma.current_buttons()

    # The process restarts: a new dispatcher from the same factory, nothing kept in memory.
    clock.advance(hours=20)
    fresh = build_dispatcher(settings=settings, sessionmaker=sessionmaker, clock=clock)
    again = Person(fresh, bot, grandma.chat_id, "zh-hans")
    sent = await again.send("/checkin")
    assert "<b>3/6</b>" in text_of(sent) and "这一周，小明每天都去上学了吗？" in text_of(sent)
    # …and the button of the old message still works, days later.
    assert old_message == again.current_buttons()
    await again.answer(0)
    assert "<b>4/6</b>" in again.last_shown().text
    checkin = await only_checkin(db)
    assert await answers(db, checkin.id) == {"mood": 0, "sleep_appetite": 1, "school": 0}
    for value in (0, 0, 0):
        await again.answer(value)
    assert (await only_checkin(db)).state == "completed"
    assert WORDS["zh-Hans"]["nothing_waiting"] in text_of(await again.send("/checkin"))


@pytest.mark.parametrize("locale", LOCALES)
async def test_back_changes_the_last_answer(enrol, db, clock, tick, locale):
    words = WORDS[locale]
    grandma = await enrol(locale=locale)
    clock.set(SUNDAY_1905)
    await tick()
    await grandma.answer(2)  # mood: often unhappy
    sent = await grandma.back()
    [edit] = [m for m in sent if isinstance(m, EditMessageText)]
    assert "<b>1/6</b>" in edit.text
    assert [t for t, _ in grandma.current_buttons()] == [
        words["mood_choices"][0], words["mood_choices"][1], "✓ " + words["mood_choices"][2]]
    await grandma.answer(0)
    assert "<b>2/6</b>" in grandma.last_shown().text
    checkin = await only_checkin(db)
    [row] = await db.all(Answer, Answer.check_in_id == checkin.id)
    assert (row.item_id, row.value, row.previous_value) == ("mood", 0, 2)
    # The first question has no "back"; a stale one says so and changes nothing.
    await grandma.back()
    assert words["back"] not in [t for t, _ in grandma.current_buttons()]
    sent = await grandma.press(CheckinNavCB(checkin_id=checkin.id, action="back").pack())
    assert answered(sent)[0].text in ("这已经是第一个问题了。", "This is the first question.")
    assert (await only_checkin(db)).cursor == 0


# ------------------------------------------------------------------ reminders and expiry


@pytest.mark.parametrize("locale", LOCALES)
async def test_reminders_after_24_and_48_hours_then_expiry(enrol, person, db, clock, tick, locale):
    words = WORDS[locale]
    started = await enrol(locale=locale)
    silent = await enrol(person(), locale=locale)  # another household, never answers
    clock.set(SUNDAY_1905)
    await tick()
    await started.answer(0)
    await started.answer(0)

    clock.advance(hours=23)
    assert (await tick()).reminders == 0
    clock.advance(hours=1, minutes=1)
    assert (await tick()).reminders == 2
    assert started.last_shown().text.startswith(words["reminder_started"] + "\n\n<b>每周问候</b> · <b>3/6</b>"
                                                if locale == "zh-Hans" else
                                                words["reminder_started"] + "\n\n<b>Weekly check-in</b> · <b>3/6</b>")
    assert silent.last_shown().text.startswith(words["reminder_fresh"])
    assert "<b>1/6</b>" in silent.last_shown().text
    assert (await tick()).reminders == 0  # a second tick adds nothing

    clock.advance(hours=24)
    assert (await tick()).reminders == 2
    assert {d.cycle for d in await db.all(Delivery, Delivery.kind == "checkin_reminder")} == {"r1", "r2"}

    clock.advance(hours=24)  # 72 h after the slot: closed
    result = await tick()
    assert (result.expired, result.reminders) == (2, 0)
    states = {c.claimed_by_guardian_id is not None: c.state for c in await db.all(CheckIn)}
    assert states == {True: "expired", False: "expired"}
    # The guardian who had started is told; the one who never did is not messaged again.
    assert started.last().text == words["closed"]
    assert not silent.last().text.startswith(words["closed"][:10])
    sent = await started.answer(0)  # an old button
    assert answered(sent)[0].text == words["closed_tap"]
    assert await db.count(Answer) == 2


async def test_downtime_sends_only_the_latest_reminder(enrol, db, clock, tick):
    grandma = await enrol()
    clock.set(SUNDAY_1905)
    await tick()
    clock.advance(hours=50)  # the machine was off for two days
    assert (await tick()).reminders == 1
    [reminder] = await db.all(Delivery, Delivery.kind == "checkin_reminder")
    assert (reminder.cycle, reminder.address, reminder.state) == ("r2", grandma.address, "sent")


# ------------------------------------------------------------------ the household


async def test_a_second_guardian_sees_it_being_answered_and_done(enrol, person, db, clock, tick, bot):
    words = WORDS["zh-Hans"]
    grandma = await enrol()
    grandpa = await join(person, grandma)
    clock.set(SUNDAY_1905)
    await tick()
    assert "<b>1/6</b>" in grandma.last_shown().text and "<b>1/6</b>" in grandpa.last_shown().text

    await grandma.answer(0)
    # Grandpa's copy now says, without content, that someone is answering; his old button is refused.
    assert grandpa.last_shown().text == words["being_answered"]
    assert grandpa.current_buttons() == []
    sent = await grandpa.answer(1, even_removed=True)  # the old copy, still on his phone
    [reply] = answered(sent)
    assert (reply.text, reply.show_alert) == ("家里已经有人在回答这些问题了。谢谢您！", True)
    checkin = await only_checkin(db)
    assert await answers(db, checkin.id) == {"mood": 0}
    for value in (0, 0, 0, 0, 0):
        await grandma.answer(value)
    assert grandpa.last_shown().text == words["answered_by_other"]
    # Grandpa is asked nothing more, and /checkin has nothing for him.
    assert words["nothing_waiting"] in text_of(await grandpa.send("/checkin"))


async def test_the_same_tap_delivered_twice_is_stored_once(enrol, db, clock, tick, bot):
    grandma = await enrol()
    clock.set(SUNDAY_1905)
    await tick()
    data = next(d for t, d in grandma.current_buttons() if d.endswith(":0:1"))
    message_id = bot.session.results[-1].message_id
    query = CallbackQuery(id="cq-dup", from_user=grandma.user, chat_instance="ci", data=data,
                          message=Message(message_id=message_id, date=clock(), chat=grandma.chat, text="…"))
    update = Update(update_id=777_001, callback_query=query)
    first = await grandma.feed(update)
    second = await grandma.feed(update)  # Telegram redelivers the same update
    assert len(answered(first)) == 1 and second == []
    checkin = await only_checkin(db)
    assert await answers(db, checkin.id) == {"mood": 1}
    assert checkin.cursor == 1


def tap_update(who: Person, data: str, message_id: int, query_id: str) -> Update:
    message = Message(message_id=message_id, date=datetime.now(timezone.utc), chat=who.chat, text="…")
    return Update(update_id=next_update_id(), callback_query=CallbackQuery(
        id=query_id, from_user=who.user, chat_instance="ci", data=data, message=message))


async def test_two_guardians_tapping_at_once_lose_nothing(enrol, person, db, clock, tick, dp, bot):
    grandma = await enrol()
    grandpa = await join(person, grandma)
    clock.set(SUNDAY_1905)
    await tick()
    taps = []
    for who, value, query_id in ((grandma, 2, "q-grandma"), (grandpa, 0, "q-grandpa")):
        data, message_id = who._find(lambda b, v=value: (b.callback_data or "").endswith(f":0:{v}"))
        taps.append(tap_update(who, data, message_id, query_id))
    await asyncio.gather(*(dp.feed_update(bot, update) for update in taps))

    checkin = await only_checkin(db)
    [row] = await db.all(Answer, Answer.check_in_id == checkin.id)
    [claimer] = await db.all(Guardian, Guardian.id == checkin.claimed_by_guardian_id)
    [grandma_row] = await db.all(Guardian, at(grandma.chat_id))
    winner = grandma if claimer.id == grandma_row.id else grandpa
    # Exactly one answer, the claimer's, with the value the claimer tapped; nothing half-written.
    assert (row.item_id, row.value, row.answered_by_guardian_id) == (
        "mood", 2 if winner is grandma else 0, claimer.id)
    replies = {m.callback_query_id: m.text for m in bot.requests if isinstance(m, AnswerCallbackQuery)}
    loser_query = "q-grandpa" if winner is grandma else "q-grandma"
    assert set(replies) >= {"q-grandma", "q-grandpa"}
    assert replies[loser_query] == "家里已经有人在回答这些问题了。谢谢您！"
    assert replies["q-grandma" if loser_query == "q-grandpa" else "q-grandpa"] is None


# ------------------------------------------------------------------ red answers and free text


async def test_a_red_safety_answer_raises_the_alert_and_sends_the_safety_message_at_once(enrol, db, clock, tick):
    words = WORDS["zh-Hans"]
    grandma = await enrol()
    clock.set(SUNDAY_1905)
    await tick()
    for value in (0, 0, 0, 0, 0):
        await grandma.answer(value)
    sent = await grandma.answer(2)  # "yes — someone hurt them"
    texts = question_texts(sent)
    assert words["safety"] in texts[0] and words["director"] in texts[0]
    assert "12356" in texts[0] and "24小时都有人接" in texts[0]  # never promised round the clock
    assert texts[1].startswith(words["thanks"])  # the thank-you comes after the safety message
    [alert] = await db.all(Alert)
    assert (alert.rule_id, alert.severity) == ("safety_harmed_by_someone", "red")
    [safety] = await db.all(Delivery, Delivery.kind == "safety")
    assert (safety.state, safety.lane, safety.guardian_id is not None) == ("sent", 0, True)
    # Nothing in the message says what was reported.
    assert "伤害过孩子" not in texts[0]


async def test_a_red_answer_mid_questionnaire_does_not_wait_for_the_end(enrol, db, clock, tick, sessionmaker):
    """A questionnaire whose red item comes second: the alert exists while the rest is unanswered,
    and the next question comes below the safety message."""
    from core.checkin.service import load_questionnaires
    from core.config import PROJECT_ROOT
    from core.content.loader import check_content
    from core.models import Cohort

    bundle, _ = check_content(PROJECT_ROOT / "content")
    weekly = next(q for q in bundle.questionnaires if q.id == "weekly_checkin")
    items = [weekly.items[0], weekly.items[5], *weekly.items[1:5]]
    early = weekly.model_copy(update={"id": "safety_early", "items": items})
    early = type(weekly).model_validate(early.model_dump())
    grandma = await enrol()
    async with sessionmaker() as session, session.begin():
        await load_questionnaires(session, questionnaires=[early], now=clock())
        cohort = (await session.scalars(__import__("sqlalchemy").select(Cohort))).one()
        cohort.checkin_schedule = {"safety_early": {"every": "week", "day": "sun", "time": "19:00"}}
    clock.set(SUNDAY_1905)
    await tick()
    await grandma.answer(0)
    sent = await grandma.answer(1)  # "talked of hurting themselves"
    kinds = [type(m).__name__ for m in sent]
    assert kinds == ["AnswerCallbackQuery", "SendMessage", "EditMessageReplyMarkup", "SendMessage"]
    assert "110" in sent[1].text and "<b>3/6</b>" in sent[3].text
    [alert] = await db.all(Alert)
    checkin = await only_checkin(db)
    assert (alert.rule_id, alert.severity, checkin.state) == ("safety_self_harm", "red", "in_progress")


@pytest.mark.parametrize(("text", "hit", "severity"), [
    ("他昨天说不想活了", True, "red"),
    ("孩子被他爸打得青一块紫一块", True, "red"),
    ("She said she wants to die", True, "red"),
    ("他没有说过想死", False, None),  # negated
    ("今天热死了，作业烦死了", False, None),  # everyday hyperbole
    ("this homework is killing me", False, None),
])
async def test_free_text_is_scanned_and_a_hit_is_an_alert(enrol, db, text, hit, severity):
    grandma = await enrol()
    sent = await grandma.send(text)
    alerts = await db.all(Alert)
    if hit:
        [alert] = alerts
        assert (alert.severity, alert.rule_id, alert.questionnaire_id) == (severity, "risk_words", "lexicon")
        # One child in the household: the alert joins that child's case (一人一案).
        assert (alert.subject_key, alert.child_id) == ("child:1", 1)
        assert text not in str(alert.evidence) and text not in alert.reason  # the words stay in free_texts
        [kept] = await db.all(FreeText)
        assert (kept.kind, kept.text, kept.hit) == ("message", text, True)
        assert "110" in text_of(sent)
    else:
        assert alerts == [] and await db.count(FreeText) == 0
        assert "已经转给儿童主任王主任" in text_of(sent) and "110" in text_of(sent)
    # Either way the words are in the directors' inbox: the scan decides urgency, not visibility.
    [item] = await db.all(InboxItem)
    [message] = await db.all(InboxMessage)
    assert (item.child_id, item.alert_id, message.text) == (1, alerts[0].id if hit else None, text)


async def test_the_note_after_the_last_question_is_kept_and_scanned(enrol, db, clock, tick):
    words = WORDS["zh-Hans"]
    grandma = await enrol()
    clock.set(SUNDAY_1905)
    await tick()
    for value in (0, 0, 0, 0, 0, 0):
        await grandma.answer(value)
    sent = await grandma.send("他最近老说不想活了")
    [note] = await db.all(FreeText)
    checkin = await only_checkin(db)
    assert (note.kind, note.check_in_id, note.child_id, note.hit) == ("note", checkin.id, checkin.child_id, True)
    assert checkin.note_state == "given"
    [alert] = await db.all(Alert)
    assert (alert.subject_key, alert.severity, alert.check_in_id) == (f"child:{checkin.child_id}", "red", checkin.id)
    assert words["safety"] in text_of(sent) and words["note_kept"] in text_of(sent)
    # The next message is a message again, not a second note.
    await grandma.send("谢谢")
    assert await db.count(FreeText) == 1


async def test_a_quiet_note_is_kept_without_an_alert(enrol, db, clock, tick):
    grandma = await enrol(locale="en")
    clock.set(SUNDAY_1905)
    await tick()
    for value in (0, 0, 0, 0, 0, 0):
        await grandma.answer(value)
    sent = await grandma.send("His father will come home for the spring festival.")
    assert text_of(sent) == WORDS["en"]["note_kept"]
    [note] = await db.all(FreeText)
    assert (note.kind, note.hit) == ("note", False) and await db.count(Alert) == 0


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_sticker_or_stray_words_mid_checkin_lead_back_to_the_question(enrol, clock, tick, locale):
    words = WORDS[locale]
    grandma = await enrol(locale=locale)
    clock.set(SUNDAY_1905)
    await tick()
    await grandma.answer(0)
    for sent in (await grandma.send_sticker(), await grandma.send("好的"), await grandma.send_voice()):
        assert text_of(sent).startswith(words["tap_answer"]) and "<b>2/6</b>" in text_of(sent)
    await grandma.answer(0)  # the buttons of the new copy work
    assert "<b>3/6</b>" in grandma.last_shown().text


INSTRUMENTS = {  # id: (when it goes out, items, about the child?)
    "weekly_checkin": (SUNDAY_1905, 6, True),
    "psc17": (FIRST_SATURDAY, 17, True),
    "who5": (SECOND_SATURDAY_Q1, 5, False),
}
LEADS = {
    "zh-Hans": ("温馨提醒：您已经回答了{total}个问题中的{answered}个，接着上次的地方继续吧：",
                "关于小明的这次问题已经结束了。", "问您近况的这次问题已经结束了。"),
    "en": ("A gentle reminder: you have answered {answered} of {total}. Carry on where you left off:",
           "The questions about 小明 have closed.", "The questions about how you are doing have closed."),
}


@pytest.mark.parametrize("locale", LOCALES)
@pytest.mark.parametrize("instrument", list(INSTRUMENTS))
async def test_every_instrument_goes_back_resumes_after_a_restart_reminds_and_expires(
    enrol, db, clock, tick, settings, sessionmaker, bot, instrument, locale
):  # type: ignore[no-untyped-def]
    from sqlalchemy import update

    from core.checkin.schedule import DEFAULT_CHECKIN_SCHEDULE
    from core.models import Cohort

    at, total, about_child = INSTRUMENTS[instrument]
    reminder, closed_child, closed_self = LEADS[locale]
    grandma = await enrol(locale=locale)
    async with sessionmaker() as session, session.begin():  # this instrument alone, so nothing else interleaves
        await session.execute(update(Cohort).values(checkin_schedule={instrument: DEFAULT_CHECKIN_SCHEDULE[instrument]}))
    clock.set(at)
    await tick()
    [checkin] = await db.all(CheckIn)
    assert checkin.questionnaire_id == instrument
    assert f"<b>1/{total}</b>" in grandma.last_shown().text
    await grandma.answer(1)
    await grandma.answer(1)
    await grandma.back()
    assert f"<b>2/{total}</b>" in grandma.last_shown().text
    await grandma.answer(2)  # changed on the way back
    assert f"<b>3/{total}</b>" in grandma.last_shown().text

    # A restart: a new dispatcher; /checkin carries on at question 3.
    fresh = build_dispatcher(settings=settings, sessionmaker=sessionmaker, clock=clock)
    again = Person(fresh, bot, grandma.chat_id, "en" if locale == "en" else "zh-hans")
    assert f"<b>3/{total}</b>" in text_of(await again.send("/checkin"))
    rows = {a.item_id: (a.value, a.previous_value) for a in await db.all(Answer)}
    assert sorted(rows.values()) == [(1, None), (2, 1)]

    clock.set(at + timedelta(hours=24, minutes=1))
    assert (await tick()).reminders == 1
    assert again.last().text.startswith(reminder.format(answered=2, total=total))
    clock.set(at + timedelta(hours=72))
    assert (await tick()).expired == 1
    assert again.last().text.startswith(closed_child if about_child else closed_self)
    assert (await only_checkin(db)).state == "expired" and await db.count(Answer) == 2
