"""Issue #2: enrolment through a cohort invitation, in both languages, kept in a Draft row."""
from __future__ import annotations

from aiogram.methods import AnswerCallbackQuery, SendMessage

from core.models import Child, ConsentDecline, Draft, Guardian, Household
from harness import answered, text_of
from core.models import Endpoint


async def test_whole_enrolment_in_chinese(person, world, db):
    grandma = person("zh-hans")

    sent = await grandma.send(f"/start {world.invitation_code}")
    assert len(sent) == 1 and isinstance(sent[0], SendMessage)
    assert sent[0].chat_id == grandma.chat_id
    assert sent[0].text == "请选择您的语言。\n\nPlease choose your language."
    # No language is preselected: two plain buttons, versioned callback data.
    draft = (await db.all(Draft))[0]
    assert grandma.last_buttons() == [("简体中文", f"e1:{draft.id}:language:zh-Hans"),
                                      ("English", f"e1:{draft.id}:language:en")]

    sent = await grandma.tap("简体中文")
    assert isinstance(sent[0], AnswerCallbackQuery)
    assert "守望是帮助照顾留守儿童" in grandma.last().text
    # The consent version shown travels in the button, so the one agreed to is the one stored.
    assert grandma.last_buttons() == [("同意", f"c1:{draft.id}:1:2"), ("不同意", f"c1:{draft.id}:0:2")]

    await grandma.tap("同意")
    assert grandma.last().text == "您是孩子的什么人？"
    assert [t for t, _ in grandma.last_buttons()] == ["妈妈", "爸爸", "奶奶 / 外婆", "爷爷 / 外公",
                                                      "其他亲戚", "其他照顾人"]
    await grandma.tap("奶奶 / 外婆")
    assert [t for t, _ in grandma.last_buttons()] == ["我和孩子住在一起", "我在外地，不和孩子住"]
    await grandma.tap("我和孩子住在一起")
    await grandma.identity()
    assert "只要小名，不要全名，也不要身份证号" in grandma.last().text

    await grandma.send("小明")
    years = [t for t, _ in grandma.last_buttons()]
    assert years[:4] == ["2026", "2025", "2024", "2023"] and years[-1] == "2008"
    rows = grandma.last().reply_markup.inline_keyboard
    assert [len(r) for r in rows[:-1]] == [4] * (len(rows) - 1)  # rows of four
    await grandma.tap("2018")
    assert [t for t, _ in grandma.last_buttons()][:3] == ["1月", "2月", "3月"]
    await grandma.tap("5月")
    assert [t for t, _ in grandma.last_buttons()] == ["女孩", "男孩", "不想说"]
    await grandma.tap("男孩")
    await grandma.tap("就这些")
    summary = grandma.last().text
    assert "您是孩子的：奶奶 / 外婆" in summary and "您和孩子住在一起。" in summary
    assert "1. 小明，2018年5月出生，男孩" in summary
    assert [t for t, _ in grandma.last_buttons()] == ["对，没问题", "重新填孩子的信息"]

    sent = await grandma.tap("对，没问题")
    welcome = text_of(sent)
    assert "您已经加入守望了" in welcome and "王主任" in welcome
    for command in ("/help", "/children", "/invite", "/settings"):
        assert command in welcome

    [guardian] = await db.all(Guardian)
    assert (await db.count(Endpoint, Endpoint.guardian_id == guardian.id, Endpoint.address == grandma.address),
            guardian.locale, guardian.relationship, guardian.lives_with_children,
            guardian.status, guardian.consent_version) == (1, "zh-Hans", "grandmother", True,
                                                           "active", 2)
    [household] = await db.all(Household)
    assert household.cohort_id == world.cohort_id and guardian.household_id == household.id
    [child] = await db.all(Child)
    assert (child.nickname, child.birth_year, child.birth_month, child.sex) == ("小明", 2018, 5, "boy")
    assert await db.count(Draft) == 0


async def test_whole_enrolment_in_english_with_two_children(person, world, db):
    dad = person("en-us")
    await dad.send(f"/start {world.invitation_code}")
    await dad.tap("English")
    assert "Do you agree?" in dad.last().text
    await dad.tap("I agree")
    assert dad.last().text == "How are you related to the children you look after?"
    await dad.tap("Father")
    await dad.tap("I work away from them")
    await dad.identity("Dad Wang", "+44 7700 900123", "Shenzhen, Longhua")
    await dad.send("Ming")
    await dad.send("2019")  # typed instead of tapped
    await dad.tap("Mar")
    await dad.tap("Prefer not to say")
    assert "So far you have told us about: Ming." in dad.last().text
    await dad.tap("Add another child")
    assert dad.last().text == "Please type the next child's nickname."
    await dad.send("Hong")
    await dad.tap("2021")
    await dad.send("11")  # typed month
    await dad.tap("Girl")
    await dad.tap("That's all")
    summary = dad.last().text
    assert "You are the children's: Father" in summary
    assert "You work away from the children." in summary
    assert "1. Ming — born 3/2019, not given" in summary
    assert "2. Hong — born 11/2021, Girl" in summary
    sent = await dad.tap("Yes, that's right")
    assert "You are now enrolled in Shouwang" in text_of(sent)
    assert "Your child director is 王主任" in text_of(sent)

    [guardian] = await db.all(Guardian)
    assert (guardian.locale, guardian.relationship, guardian.lives_with_children) == ("en", "father", False)
    children = await db.all(Child)
    assert [(c.nickname, c.birth_year, c.birth_month, c.sex) for c in children] == [
        ("Ming", 2019, 3, None), ("Hong", 2021, 11, "girl")]
    assert {c.household_id for c in children} == {guardian.household_id}


async def test_start_children_again_at_the_summary(person, world, db):
    p = person("en")
    await p.send(f"/start {world.invitation_code}")
    for step in ("English", "I agree", "Mother", "I live with the children"):
        await p.tap(step)
    await p.identity()
    await p.send("Wrong")
    for step in ("2020", "Jan", "Boy", "That's all", "Enter the children again"):
        await p.tap(step)
    assert "Type the first child's nickname" in p.last().text
    await p.send("Right")
    for step in ("2020", "Feb", "Girl", "That's all", "Yes, that's right"):
        await p.tap(step)
    assert [c.nickname for c in await db.all(Child)] == ["Right"]


async def test_saying_no_to_consent_keeps_only_an_anonymous_count(person, world, db):
    p = person("zh-hans")
    await p.send(f"/start {world.invitation_code}")
    await p.tap("简体中文")
    sent = await p.tap("不同意")
    assert answered(sent)
    assert "我们没有保存您的任何信息" in p.last().text and "再打开一次邀请链接" in p.last().text
    [decline] = await db.all(ConsentDecline)
    assert (decline.cohort_id, decline.consent_version) == (world.cohort_id, 2)
    assert await db.count(Draft) == 0 and await db.count(Guardian) == 0


async def test_second_start_mid_flow_resumes_without_duplicating(person, world, db):
    p = person("zh-hans")
    await p.send(f"/start {world.invitation_code}")
    await p.tap("简体中文")
    await p.tap("同意")
    await p.tap("妈妈")
    # The same link again, then a bare /start: both show the current question again.
    await p.send(f"/start {world.invitation_code}")
    assert p.last().text == "您和孩子住在一起吗？"
    await p.send("/start")
    assert p.last().text == "您和孩子住在一起吗？"
    [draft] = await db.all(Draft)
    assert draft.step == "residence" and draft.data["relationship"] == "mother"
    await p.tap("我和孩子住在一起")
    await p.identity()
    await p.send("小红")
    assert (await db.all(Draft))[0].data["child"] == {"nickname": "小红"}
    assert await db.count(Guardian) == 0


async def test_enrolled_guardian_opening_another_invitation_is_told_kindly(enrol, make_invitation, db):
    grandma = await enrol()
    other = await make_invitation(label="another village poster")
    sent = await grandma.send(f"/start {other}")
    assert "您已经加入守望了。每个人只能属于一个家庭" in text_of(sent) and "/delete" in text_of(sent)
    assert await db.count(Draft) == 0 and await db.count(Household) == 1


async def test_bare_start_for_enrolled_guardian_and_for_a_stranger(enrol, person):
    grandma = await enrol()
    sent = await grandma.send("/start")
    assert "您已经加入守望了。" in text_of(sent) and "/children" in text_of(sent)

    stranger = person("en")
    sent = await stranger.send("/start")
    text = text_of(sent)
    # Chinese first, then English, whatever Telegram says their language is.
    assert text.index("欢迎来到守望") < text.index("Welcome to Shouwang")
    assert "child director" in text


async def test_enrolment_ends_kindly_if_the_invitation_ran_out_meanwhile(person, make_invitation, db):
    code = await make_invitation(max_uses=1)
    first, second = person("en"), person("en")
    for p in (first, second):
        await p.send(f"/start {code}")
        for step in ("English", "I agree", "Mother", "I live with the children"):
            await p.tap(step)
        await p.identity()
        await p.send("Kid")
        for step in ("2020", "Jan", "Boy", "That's all"):
            await p.tap(step)
    await first.tap("Yes, that's right")
    sent = await second.tap("Yes, that's right")
    assert "can no longer be used" in text_of(sent)
    assert await db.count(Guardian) == 1 and await db.count(Draft) == 0
