"""The enrolled guardian's commands: /help /settings /children /invite /mydata /stop /delete."""
from __future__ import annotations

from core.models import Child, Draft, Guardian, Household
from harness import answered, text_of
from tests.endpoints import at


async def test_help(enrol):
    grandma = await enrol()
    text = text_of(await grandma.send("/help"))
    for command in ("/children", "/invite", "/settings", "/mydata", "/stop", "/delete", "/help"):
        assert command in text


async def test_settings_change_language(enrol, db):
    grandma = await enrol()
    await grandma.send("/settings")
    assert "语言：简体中文" in grandma.last().text
    assert [t for t, _ in grandma.last_buttons()] == ["换语言", "我的称呼、电话和住址", "暂停小课", "我所在的时区", "休息时间（不发小课）"]
    await grandma.tap("换语言")
    assert [t for t, _ in grandma.last_buttons()] == ["简体中文", "English"]
    sent = await grandma.tap("English")
    assert answered(sent)
    assert grandma.last().text == "Done. I will speak English with you from now on."
    assert (await db.all(Guardian))[0].locale == "en"
    assert "Here is what you can send me" in text_of(await grandma.send("/help"))


async def test_settings_pause_and_resume(enrol, db):
    grandma = await enrol()
    await grandma.send("/settings")
    await grandma.tap("暂停小课")
    assert "小课已暂停" in grandma.last().text
    assert (await db.all(Guardian))[0].status == "paused"
    await grandma.send("/settings")
    assert "小课：已暂停" in grandma.last().text
    await grandma.tap("恢复小课")
    assert grandma.last().text == "小课已经恢复了。"
    assert (await db.all(Guardian))[0].status == "active"


async def test_children_add_a_child(enrol, db):
    grandma = await enrol(locale="en")
    text = text_of(await grandma.send("/children"))
    assert "1. 小明 — born 5/2018, Boy" in text
    assert [t for t, _ in grandma.last_buttons()] == ["Correct 小明", "Remove 小明", "Add a child"]
    await grandma.tap("Add a child")
    assert "Please type the new child's nickname" in grandma.last().text
    await grandma.send("Lili")
    for step in ("2022", "Jun", "Girl"):
        await grandma.tap(step)
    assert "2. " not in grandma.last().text and "1. Lili — born 6/2022, Girl" in grandma.last().text
    sent = await grandma.tap("Yes, that's right")
    assert "Added: Lili." in text_of(sent)
    assert sorted(c.nickname for c in await db.all(Child)) == ["Lili", "小明"]
    assert len({c.household_id for c in await db.all(Child)}) == 1
    assert await db.count(Draft) == 0


async def test_children_correct_a_child(enrol, db):
    grandma = await enrol(locale="en")
    await grandma.send("/children")
    await grandma.tap("Correct 小明")
    assert "correct this child's details" in grandma.last().text
    await grandma.send("明明")
    for step in ("2017", "Dec", "Prefer not to say"):
        await grandma.tap(step)
    assert "1. 明明 — born 12/2017, not given" in grandma.last().text
    sent = await grandma.tap("Yes, that's right")
    assert "Saved: 明明." in text_of(sent)
    [child] = await db.all(Child)
    assert (child.nickname, child.birth_year, child.birth_month, child.sex) == ("明明", 2017, 12, None)


async def test_children_correct_then_cancel_changes_nothing(enrol, db):
    grandma = await enrol(locale="en")
    await grandma.send("/children")
    await grandma.tap("Correct 小明")
    await grandma.tap("Cancel")
    assert "nothing was changed" in grandma.last().text
    assert (await db.all(Child))[0].nickname == "小明" and await db.count(Draft) == 0


async def test_children_remove_with_confirmation_but_never_the_last(enrol, db):
    grandma = await enrol(children=(("小明", 2018, 5, "boy"), ("小红", 2020, 8, "girl")))
    await grandma.send("/children")
    await grandma.tap("删掉小红")
    assert "要把小红从守望中删掉吗" in grandma.last().text
    await grandma.tap("不，留着")
    assert await db.count(Child) == 2
    await grandma.send("/children")
    await grandma.tap("删掉小红")
    await grandma.tap("是的，删掉")
    assert grandma.last().text == "已经删掉小红了。"
    assert [c.nickname for c in await db.all(Child)] == ["小明"]

    await grandma.send("/children")
    await grandma.tap("删掉小明")
    await grandma.tap("是的，删掉")
    assert "每个家庭至少要有一个孩子" in grandma.last().text
    assert await db.count(Child) == 1


async def test_mydata_lists_own_data_in_plain_words(enrol, person, db):
    grandma = await enrol(children=(("小明", 2018, 5, "boy"),))
    sent = await grandma.send("/mydata")
    text = text_of(sent)
    assert "您是孩子的：奶奶 / 外婆" in text
    assert "您和孩子住在一起。" in text
    assert "语言：简体中文" in text
    assert "第2版知情同意书" in text and "2026-11-23" in text
    assert "状态：正在接收小课" in text
    assert "1. 小明，2018年5月出生，男孩" in text


async def test_mydata_never_shows_another_guardians_data(enrol, person):
    grandma = await enrol()
    text = text_of(await grandma.send("/invite"))
    code = text.split("?start=")[1].split()[0]
    dad = person("en")
    await dad.send(f"/start {code}")
    for step in ("English", "I agree", "Father", "I work away from them"):
        await dad.tap(step)
    await dad.identity("Dad Wang", "+447700900123", "Shenzhen")
    await dad.tap("Yes, that's right")
    text = text_of(await dad.send("/mydata"))
    assert "You are the children's: Father" in text
    assert "Grandmother" not in text and "You live with the children" not in text


async def test_stop_then_start_again(enrol, db):
    grandma = await enrol()
    await grandma.send("/stop")
    assert [t for t, _ in grandma.last_buttons()] == ["是的，不再接收", "不，返回"]
    await grandma.tap("不，返回")
    assert (await db.all(Guardian))[0].status == "active"
    await grandma.send("/stop")
    await grandma.tap("是的，不再接收")
    assert "发 /start 就可以" in grandma.last().text
    assert (await db.all(Guardian))[0].status == "stopped"
    # Stopped: only the way back is offered.
    assert "想重新开始，请发 /start" in text_of(await grandma.send("/settings"))
    assert "想重新开始，请发 /start" in text_of(await grandma.send("你好"))
    sent = await grandma.send("/start")
    assert "欢迎回来" in text_of(sent)
    [guardian] = await db.all(Guardian)
    assert guardian.status == "active" and guardian.stopped_at is None


async def test_delete_last_guardian_erases_the_household(enrol, db):
    grandma = await enrol()
    await grandma.send("/delete")
    await grandma.tap("是的，删除我的资料")
    text = grandma.last().text
    assert "您的资料已经删除" in text and "孩子的信息也一起删除了" in text
    assert await db.count(Guardian) == 0 and await db.count(Household) == 0 and await db.count(Child) == 0
    # Afterwards they are a stranger again.
    assert "欢迎来到守望" in text_of(await grandma.send("/mydata"))


async def test_delete_keeps_the_household_when_another_guardian_remains(enrol, person, db):
    grandma = await enrol()
    text = text_of(await grandma.send("/invite"))
    code = text.split("?start=")[1].split()[0]
    dad = person("en")
    await dad.send(f"/start {code}")
    for step in ("English", "I agree", "Father", "I work away from them"):
        await dad.tap(step)
    await dad.identity("Dad Wang", "+447700900123", "Shenzhen")
    await dad.tap("Yes, that's right")
    await dad.send("/delete")
    await dad.tap("No, go back")
    assert await db.count(Guardian) == 2
    await dad.send("/delete")
    await dad.tap("Yes, erase my data")
    assert "The children's details stay" in dad.last().text
    assert [g.id for g in await db.all(Guardian)] == [g.id for g in await db.all(Guardian, at(grandma.chat_id))]
    assert await db.count(Guardian) == 1
    assert await db.count(Household) == 1 and await db.count(Child) == 1


async def test_commands_from_someone_not_enrolled(person, world):
    stranger = person("zh")
    for command in ("/help", "/settings", "/children", "/invite", "/mydata", "/stop", "/delete"):
        text = text_of(await stranger.send(command))
        assert "欢迎来到守望" in text and "Welcome to Shouwang" in text, command

    # Mid-enrolment: told to finish first, and shown where they are.
    newcomer = person("zh")
    await newcomer.send(f"/start {world.invitation_code}")
    await newcomer.tap("简体中文")
    text = text_of(await newcomer.send("/children"))
    assert "加入完成后才能用这个" in text and "您同意吗" in text
