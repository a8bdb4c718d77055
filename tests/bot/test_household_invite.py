"""/invite: the grandmother invites the father working in the city; he joins the same household."""
from __future__ import annotations

import re

from core.models import Child, Draft, Guardian, Household, HouseholdInvite
from harness import text_of
from tests.endpoints import at


async def _invite_link(guardian) -> str:
    sent = await guardian.send("/invite")
    match = re.search(r"https://t\.me/shouwang_test_bot\?start=(h[a-z0-9]+)", text_of(sent))
    assert match, text_of(sent)
    return match.group(1)


async def test_invite_explains_plainly(enrol, settings):
    grandma = await enrol()
    sent = await grandma.send("/invite")
    text = text_of(sent)
    assert "比如在城里打工的爸爸妈妈" in text
    assert f"{settings.household_invite_days}天内有效" in text and "只能用一次" in text


async def test_father_joins_the_grandmothers_household(enrol, person, db):
    grandma = await enrol(children=(("小明", 2018, 5, "boy"), ("小红", 2020, 8, "girl")))
    code = await _invite_link(grandma)

    dad = person("en")
    await dad.send(f"/start {code}")
    assert "Please choose your language." in dad.last().text
    await dad.tap("English")
    await dad.tap("I agree")
    await dad.tap("Father")
    await dad.tap("I work away from them")
    await dad.identity("Dad Wang", None, None)
    summary = dad.last().text
    # He sees the children's nicknames, never the grandmother's answers.
    assert "You will join the family of: 小明, 小红" in summary
    assert "Grandmother" not in summary and "live with" not in summary.replace("You work away", "")
    assert [t for t, _ in dad.last_buttons()] == ["Yes, that's right", "Change my answers"]
    sent = await dad.tap("Yes, that's right")
    assert "You have joined your family in Shouwang" in text_of(sent)

    guardians = await db.all(Guardian)
    assert len(guardians) == 2 and await db.count(Household) == 1
    assert {g.household_id for g in guardians} == {(await db.all(Household))[0].id}
    [dad_row] = await db.all(Guardian, at(dad.chat_id))
    assert (dad_row.relationship, dad_row.lives_with_children, dad_row.locale) == ("father", False, "en")
    assert await db.count(Child) == 2 and await db.count(Draft) == 0
    [invite] = await db.all(HouseholdInvite)
    assert invite.used_at is not None

    # Both see the same children; the link cannot be used twice.
    assert "小明" in text_of(await dad.send("/children")) and "小红" in text_of(await dad.send("/children"))
    sent = await person("zh").send(f"/start {code}")
    assert "这个链接已经用过了" in text_of(sent)


async def test_join_change_my_answers_goes_back_to_relationship(enrol, person):
    grandma = await enrol()
    code = await _invite_link(grandma)
    dad = person("en")
    await dad.send(f"/start {code}")
    for step in ("English", "I agree", "Mother", "I live with the children"):
        await dad.tap(step)
    await dad.identity("Dad Wang", None, None)
    await dad.tap("Change my answers")
    assert dad.last().text == "How are you related to the children you look after?"
