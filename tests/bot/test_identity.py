"""Issue #11.3, #11.5 (first half) and #16.5, through the production dispatcher: whom to call
(what the family calls the guardian, their phone — Telegram's share-contact button or typed —
and where the home is) asked at enrolment in both languages; shown to staff on every card, in
/alerts, /case, /roster and /visits; corrected in /settings, shown in /mydata; every word typed in
enrolment scanned first; and /delete leaving no name, number, place or words in any table or
outbox payload."""
from __future__ import annotations

import pytest
from aiogram.methods import EditMessageText, SendMessage
from aiogram.types import ReplyKeyboardRemove
from sqlalchemy import select

from core.access import Scope
from core.alerts import cases as case_service
from core.db import Base
from core.models import Alert, Case, Draft, FreeText, Guardian, Staff
from core.models.enums import StaffRole
from harness import Person, text_of
from test_director import SUNDAY_1905, answered_weekly, team_factory, tick  # noqa: F401 (fixtures)

RISK = "孩子说不想活了"  # a red hit in the shipped lexicon


async def walk_to(p: Person, code: str, step: str, *, locale: str = "zh-Hans") -> None:
    """A newcomer through an invitation, up to (not including) the given step."""
    await p.send(f"/start {code}")
    path = [("consent", lambda: p.choose(locale)),
            ("relationship", lambda: p.consent(True)),
            ("residence", lambda: p.choose("grandmother")),
            ("call_name", lambda: p.choose("with")),
            ("phone", lambda: p.send("柳奶奶")),
            ("village", lambda: p.send("13987654321")),
            ("child_nickname", lambda: p.send("七组 老槐树下")),
            ("child_birth_year", lambda: p.send("石头蛋"))]
    for name, go in path:
        await go()
        if name == step:
            return
    raise AssertionError(step)


async def finish(p: Person, *, nickname: bool = True) -> list:
    if nickname:
        await p.send("石头蛋")
    for value in ("2018", "5", "boy", "done"):
        await p.choose(value)
    return await p.choose("yes")


# ---------------------------------------------------------------- asking at enrolment


async def test_share_contact_button_in_chinese(person, world, db):
    grandma = person("zh-hans")
    await walk_to(grandma, world.invitation_code, "phone")
    assert "家里人怎么称呼您？比如王奶奶、小明妈妈" in grandma.sent()[-2].text
    assert "您的电话号码是多少？" in grandma.last().text
    # Telegram's own share-contact button (request_contact), and a way to skip.
    assert grandma.reply_keyboard() == [("📱 发送我的号码", True), ("跳过", False)]
    sent = await grandma.share_contact("8613912345678")  # Telegram sends it without the "+"
    thanks, village = [m for m in sent if isinstance(m, SendMessage)]
    assert thanks.text == "谢谢您。" and isinstance(thanks.reply_markup, ReplyKeyboardRemove)
    assert "您家在哪里？" in village.text and [t for t, _ in grandma.last_buttons()] == ["跳过"]
    await grandma.send("七组  老槐树下")
    [draft] = await db.all(Draft)
    assert (draft.data["call_name"], draft.data["phone"], draft.data["village"]) == (
        "柳奶奶", "+8613912345678", "七组 老槐树下")
    await grandma.send("石头蛋")
    for value in ("2018", "5", "boy", "done"):
        await grandma.choose(value)
    summary = grandma.last().text
    assert "家里人怎么称呼您：柳奶奶\n您的电话：13912345678\n您家在哪里：七组 老槐树下" in summary
    await grandma.choose("yes")
    [g] = await db.all(Guardian)
    assert (g.call_name, g.phone, g.village, g.consent_version) == ("柳奶奶", "+8613912345678", "七组 老槐树下", 2)


async def test_typed_number_bad_numbers_and_skipping_in_english(person, world, db):
    dad = person("en")
    await dad.send(f"/start {world.invitation_code}")
    for tap in ("English", "I agree", "Father", "I work away from them"):
        await dad.tap(tap)
    assert "What does the family call you?" in dad.last().text
    await dad.send("Dad Liu 13987654321")  # a number is not a name
    assert dad.last().text.startswith("Please type only what the family calls you, without numbers.")
    await dad.send("Dad Liu")
    assert dad.reply_keyboard() == [("📱 Share my number", True), ("Skip", False)]
    for bad in ("12345", "23812345678", "+86 0939 1234567"):
        await dad.send(bad)
        assert dad.last().text.startswith("Sorry, that does not look like a phone number.")
        assert dad.reply_keyboard()  # asked again, with the buttons
    [draft] = await db.all(Draft)
    assert draft.step == "phone" and "phone" not in draft.data
    await dad.send("Skip")
    await dad.tap("Skip")  # no village either
    await dad.send("Ming")
    for value in ("2019", "3", "none", "done"):
        await dad.choose(value)
    summary = dad.last().text
    assert "What the family calls you: Dad Liu\nYour phone number: not given\nWhere your home is: not given" in summary
    await dad.tap("Yes, that's right")
    [g] = await db.all(Guardian)
    assert (g.call_name, g.phone, g.village) == ("Dad Liu", None, None)


async def test_international_number_typed_and_a_bad_number_in_chinese(person, world, db):
    p = person("zh-hans")
    await walk_to(p, world.invitation_code, "phone")
    await p.send("电话123")
    assert p.last().text.startswith("对不起，这好像不是电话号码。请写11位的手机号")
    await p.send("+44 7700 900123")
    await p.choose("skip")
    [draft] = await db.all(Draft)
    assert draft.data["phone"] == "+447700900123" and draft.data["village"] is None


# ---------------------------------------------------------------- risk words while enrolling


@pytest.mark.parametrize("step", ["call_name", "phone", "village", "child_nickname", "child_birth_year"])
async def test_risk_words_at_each_enrolment_step_raise_the_alert(team_factory, person, world, tick, db, step):
    team = await team_factory("zh-Hans", link=("wang",))
    p = person("zh-hans")
    await walk_to(p, world.invitation_code, step)
    sent = await p.send(RISK)
    replies = text_of(sent)
    assert "110" in replies and "12356" in replies  # the safety message, at once
    assert replies.rstrip().endswith(p.last().text.rstrip()) and "您准备好了，我们再接着填。" in p.last().text
    [draft] = await db.all(Draft)
    assert draft.step == step  # the words were not taken as an answer
    assert RISK not in str(draft.data.get("child")) and draft.data.get("call_name") != RISK
    [alert] = await db.all(Alert)
    assert (alert.severity, alert.cohort_id, alert.household_id) == ("red", world.cohort_id, None)
    assert alert.subject_key.startswith("pending:")
    [words] = await db.all(FreeText)
    assert (words.text, words.kind, words.household_id, words.guardian_id) == (RISK, "enrolment", None, None)
    # A red alert reaches the director at once, enrolment finished or not, with whom to call so far.
    await tick()
    card = team.wang.last().text
    assert card.startswith("<b>🔴 红色警报</b>") and "一户还没有加入完的家庭" in card and RISK in card
    if step not in ("call_name", "phone"):
        assert "柳奶奶 · 13987654321" in card
    # Enrolment goes on; at the end the alert, its case and the words are the new household's.
    if step == "call_name":
        await p.send("柳奶奶")
    if step in ("call_name", "phone"):
        await p.send("13987654321")
    if step in ("call_name", "phone", "village"):
        await p.send("七组 老槐树下")
    if step == "child_birth_year":
        await p.choose("2018")
        for value in ("5", "boy", "done"):
            await p.choose(value)
        await p.choose("yes")
    else:
        await finish(p)
    [guardian] = await db.all(Guardian)
    [alert] = await db.all(Alert)
    [case] = await db.all(Case)
    assert alert.subject_key == case.subject_key == f"household:{guardian.household_id}"
    assert alert.household_id == case.household_id == guardian.household_id
    assert alert.evidence["written_by_guardian_id"] == guardian.id and "draft_id" not in alert.evidence
    [words] = await db.all(FreeText)
    assert (words.household_id, words.guardian_id) == (guardian.household_id, guardian.id)
    # The card on the director's phone is redrawn to name the family.
    await tick()
    assert "柳奶奶 · 13987654321 · 七组 老槐树下 (家庭 #1)" in team.wang.last_shown().text
    assert isinstance(team.wang.last_shown(), EditMessageText)


async def test_a_second_hit_while_enrolling_joins_the_same_alert(person, world, db):
    p = person("en")
    await walk_to(p, world.invitation_code, "call_name", locale="en")
    await p.send("he wants to die")
    await p.send("柳奶奶")
    await p.send("I will kill myself")
    [alert] = await db.all(Alert)
    assert alert.occurrences == 2 and len(await db.all(FreeText)) == 2
    assert "Thank you for telling us" in p.sent()[-2].text and "What is your phone number?" in p.last().text


async def test_risk_words_when_correcting_a_name_in_settings(enrol, db):
    grandma = await enrol()
    await grandma.send("/settings")
    await grandma.tap("我的称呼、电话和住址")
    sent = await grandma.send(RISK)
    assert "110" in text_of(sent)
    [alert] = await db.all(Alert)
    [g] = await db.all(Guardian)
    assert alert.subject_key == f"household:{g.household_id}" and g.call_name == "王奶奶"


# ---------------------------------------------------------------- staff see whom to call


async def test_every_staff_view_names_the_family(team_factory, enrol, clock, tick, db):
    team = await team_factory("zh-Hans", link=("wang",))
    grandma = await enrol()
    sent = await grandma.send(RISK)  # a household alert and case (a message names no child)
    assert "110" in text_of(sent)
    await tick()
    label = "王奶奶 · 13812345678 · 三组 村口小卖部旁 (家庭 #1)"
    assert label in team.wang.last().text  # the card
    assert label in text_of(await team.wang.send("/alerts"))
    case = text_of(await team.wang.send("/case 1"))
    assert label in case and "未保留姓名" not in case
    assert label in text_of(await team.wang.send("/roster"))
    assert label in text_of(await team.wang.send("/visits"))


async def test_english_staff_views_and_the_directors_number_for_families(team_factory, enrol, sessionmaker, db):
    team = await team_factory("en", link=("wang",))
    async with sessionmaker() as session, session.begin():
        wang = await session.scalar(select(Staff).where(Staff.display_name == "王主任"))
        wang.phone, wang.phone_visible = "+8613700001111", True
    grandma = await enrol(locale="en", call_name="Grandma Liu", phone="+44 7700 900123", village="Group 7")
    sent = text_of(await grandma.send(RISK))
    assert "Your child director: 王主任, phone 13700001111" in sent  # the safety message
    assert "you can call 王主任 at 13700001111" in text_of(await grandma.send("hello there"))  # the inbox reply
    roster = text_of(await team.wang.send("/roster"))
    assert "Grandma Liu · +447700900123 · Group 7 (household #1)" in roster


async def test_a_number_not_opted_in_is_never_shown_to_families(enrol, sessionmaker):
    async with sessionmaker() as session, session.begin():
        wang = await session.scalar(select(Staff).where(Staff.display_name == "王主任"))
        wang.phone = "+8613700001111"  # phone_visible stays False
    grandma = await enrol()
    assert "13700001111" not in text_of(await grandma.send(RISK))
    assert "13700001111" not in text_of(await grandma.send("你好"))


# ---------------------------------------------------------------- the guardian sees and corrects


async def test_settings_corrects_and_mydata_shows(enrol, db):
    grandma = await enrol()
    text = text_of(await grandma.send("/settings"))
    assert "家里人怎么称呼您：王奶奶" in text
    await grandma.tap("我的称呼、电话和住址")
    await grandma.send("柳奶奶")
    await grandma.send("跳过")
    await grandma.send("五组 大桥边")
    assert "家里人怎么称呼您：柳奶奶\n您的电话：不填" not in grandma.last().text  # sanity: wording below
    assert "家里人怎么称呼您：柳奶奶" in grandma.last().text
    await grandma.choose("yes")
    [g] = await db.all(Guardian)
    assert (g.call_name, g.phone, g.village) == ("柳奶奶", None, "五组 大桥边")
    mydata = text_of(await grandma.send("/mydata"))
    assert "• 家里人怎么称呼您：柳奶奶" in mydata and "• 您家在哪里：五组 大桥边" in mydata
    assert RISK not in mydata


async def test_mydata_in_full_shows_own_answers_and_words_never_anothers(enrol, person, clock, tick, db):
    grandma = await answered_weekly(enrol, clock, tick, (0, 0, 0, 0, 0, 0))
    await grandma.send(RISK)
    first = text_of(await grandma.send("/mydata"))
    assert "不想活" not in first  # the first screen is safe on a shared phone
    full = text_of(await grandma.tap("看我的回答和写的话"))
    assert "每周问候 · 小明" in full and f"“{RISK}”" in full
    assert "因为您的回答或写的话，儿童主任跟进过 1 次" in full
    # Another guardian of the family sees none of it.
    code = text_of(await grandma.send("/invite")).split("?start=")[1].split()[0]
    dad = person("zh-hans")
    await dad.send(f"/start {code}")
    for value in ("zh-Hans",):
        await dad.choose(value)
    await dad.consent(True)
    await dad.choose("father")
    await dad.choose("away")
    await dad.identity("王爸爸", None, None)
    await dad.choose("yes")
    await dad.send("/mydata")
    theirs = text_of(await dad.tap("看我的回答和写的话"))
    assert RISK not in theirs and "每周问候" not in theirs and "跟进过" not in theirs


# ---------------------------------------------------------------- erasure that erases


SECRETS = ("柳奶奶", "13987654321", "+8613987654321", "七组老槐树下", "石头蛋", "石头蛋说不想活了", "送去镇上",
           "李二狗")


async def test_delete_leaves_no_name_number_place_or_words_anywhere(team_factory, enrol, clock, tick, db, bot,
                                                                    sessionmaker):
    team = await team_factory("zh-Hans", link=("wang",))
    grandma = await enrol(call_name="柳奶奶", phone="13987654321", village="七组老槐树下",
                          children=(("石头蛋", 2018, 5, "boy"),))
    clock.set(SUNDAY_1905)
    await tick()
    for value in (0, 0, 0, 0, 0, 2):  # someone hurt the child: red alert on the child's case
        await grandma.answer(value)
    await grandma.send("石头蛋说不想活了")  # risk words: a household alert, the words kept
    await grandma.send("送去镇上了")  # an ordinary message (not kept)
    await tick()
    [wang_staff] = await db.all(Staff, Staff.display_name == "王主任")
    scope = Scope(staff_id=wang_staff.id, role=StaffRole.director, cohort_ids=frozenset({1}))
    async with sessionmaker() as session, session.begin():
        for case in (await session.scalars(select(Case))).all():
            await case_service.add_note(session, scope=scope, case_id=case.id, now=clock(),
                                        text="给柳奶奶打了电话 139-8765-4321，石头蛋在家，李二狗送去镇上")
    cards_before = [m for m in team.wang.shown() if "柳奶奶" in (m.text or "")]
    assert cards_before  # the cards named the family

    clock.advance(minutes=5)
    await grandma.send("/delete")
    await grandma.tap("是的，删除我的资料")
    before = len(bot.requests)
    await tick()

    # The cards on the director's phone were edited to the redacted form.
    edits = [m for m in bot.requests[before:] if isinstance(m, EditMessageText) and m.chat_id == team.wang.chat_id]
    assert len(edits) == 2
    for edit in edits:
        assert not any(s in edit.text for s in SECRETS), edit.text
        assert edit.text.startswith("<b>🔴") and "{nickname}" not in edit.text
    # Every table, every outbox payload.
    async with sessionmaker() as session:
        dump = []
        for table in Base.metadata.sorted_tables:
            for row in (await session.execute(select(table))).all():
                dump.append(f"{table.name}: {tuple(row)!r}")
    text = "\n".join(dump)
    found = [s for s in SECRETS if s in text or s in text.encode("unicode_escape").decode()]
    assert not found, [line for line in dump if any(s in line for s in found)]
    # What stays for the child's record: the alerts' severities, scores, categories, dates.
    alerts = await db.all(Alert)
    assert sorted(a.severity for a in alerts) == ["red", "red"]
    lexicon = next(a for a in alerts if a.questionnaire_id == "lexicon")
    assert lexicon.evidence["categories"] and "terms" not in lexicon.evidence
    assert {c.household_id for c in await db.all(Case)} == {None}
    assert await db.count(Guardian) == 0


async def test_a_director_sets_their_number_for_families_on_the_phone(team_factory, enrol, db):
    team = await team_factory("zh-Hans", link=("wang",))
    assert "/myphone 13812345678" in text_of(await team.wang.send("/myphone"))
    assert "对不起，这好像不是电话号码" in text_of(await team.wang.send("/myphone 12345"))
    kept = text_of(await team.wang.send("/myphone 137 0000 1111"))
    assert "13700001111" in kept and "/myphone show" in kept
    grandma = await enrol()
    assert "13700001111" not in text_of(await grandma.send(RISK))  # not shown until they say so
    assert "/myphone hide" in text_of(await team.wang.send("/myphone show"))
    [wang] = await db.all(Staff, Staff.display_name == "王主任")
    assert (wang.phone, wang.phone_visible) == ("+8613700001111", True)
    assert "13700001111" in text_of(await grandma.send("孩子说想死"))


async def test_risk_words_before_consent_are_passed_on_and_saying_no_is_honest(person, world, db):
    p = person("zh-hans")
    await p.send(f"/start {world.invitation_code}")
    await p.choose("zh-Hans")
    assert "110" in text_of(await p.send(RISK))  # typed instead of tapping at the consent step
    await p.consent(False)
    assert "只有您写的、让我们担心的那几句话，已经交给了儿童主任" in p.last().text
    [alert] = await db.all(Alert)
    assert alert.subject_key.startswith("pending:") and await db.count(Draft) == 0
