"""The director sends one family the check-in from the phone (/checknow); the guardian who shared
a household invite hears it was used; the directors hear when a guardian stops or leaves while
the family stays. All through the outbox, in each reader's language."""
from __future__ import annotations

from core.models import AuditLog, CheckIn, CheckInRound, Delivery, Household
from harness import text_of
from tests.endpoints import at


async def _drain(sender, clock) -> None:  # type: ignore[no-untyped-def]
    """The outbox until nothing is due (a chat gets one message a second: the clock moves on)."""
    while (stats := await sender.drain_once()).claimed:
        if stats.deferred:
            clock.advance(seconds=1)


async def _household_id(db, who) -> int:  # type: ignore[no-untyped-def]
    from core.models import Guardian

    [guardian] = await db.all(Guardian, at(who.chat_id))
    return guardian.household_id


async def _director(person, world):  # type: ignore[no-untyped-def]
    wang = person()
    await wang.send(f"/start {world.director_link_code}")
    return wang


async def test_the_director_sends_one_family_the_check_in_now(enrol, person, world, db, sender, clock):
    wang = await _director(person, world)
    grandma, neighbour = await enrol(), await enrol()
    household = await _household_id(db, grandma)

    assert "/checknow 12" in text_of(await wang.send("/checknow"))  # how to use it
    assert "/checknow 12" in text_of(await wang.send(f"/checknow {household}"))  # a reason is needed
    sent = await wang.send(f"/checknow {household} 电话里奶奶说孩子这几天不吃饭")
    assert f"问卷已经发给家庭 #{household}" in text_of(sent)

    [checkin] = await db.all(CheckIn)
    assert checkin.household_id == household and checkin.cycle.startswith("adhoc:")
    [round_] = await db.all(CheckInRound)
    assert round_.reason == "电话里奶奶说孩子这几天不吃饭"
    await _drain(sender, clock)
    assert grandma.last().reply_markup is not None  # the first question, with its answer buttons
    assert neighbour.address not in {d.address for d in await db.all(Delivery, Delivery.kind == "checkin")}

    again = await wang.send(f"/checknow {household} 再发一次")
    assert "今天已经发过" in text_of(again)
    assert "您负责的范围里没有家庭 #99999" in text_of(await wang.send("/checknow 99999 担心"))
    [entry, *_] = await db.all(AuditLog, AuditLog.action == "send_checkin")
    assert entry.entity == "household" and entry.entity_id == household


async def test_a_guardian_cannot_use_checknow(enrol):
    grandma = await enrol()
    sent = await grandma.send("/checknow 1 test")
    assert "问卷已经发给" not in text_of(sent)


async def test_the_inviter_hears_the_link_was_used_and_directors_hear_a_guardian_left(
    enrol, person, world, db, sender, clock
):
    wang = await _director(person, world)
    grandma = await enrol()
    code = text_of(await grandma.send("/invite")).split("?start=")[1].split()[0]
    dad = person("en")
    await dad.send(f"/start {code}")
    for step in ("English", "I agree", "Father", "I work away from them"):
        await dad.tap(step)
    await dad.identity("Dad Wang", None, None)
    await dad.tap("Yes, that's right")

    await _drain(sender, clock)
    told = grandma.last().text
    assert "您的家庭链接已经有人用了：爸爸" in told and "如果您没有把链接给过别人" in told
    assert "不会看到您的回答" in told

    # The father stops all messages: the directors hear it (in their language), the household stays.
    await dad.send("/stop")
    await dad.tap("Yes, stop messages")
    await _drain(sender, clock)
    household = await _household_id(db, grandma)
    assert f"家庭 #{household}（爸爸）的一位监护人已经不再接收守望的消息" in wang.last().text

    # …and erases his data: told again, differently; the grandmother's household remains.
    await dad.send("/start")
    await dad.send("/delete")
    await dad.tap("Yes, erase my data")
    await _drain(sender, clock)
    assert f"家庭 #{household}（爸爸）的一位监护人已经退出守望" in wang.last().text
    assert await db.count(Household) == 1
    left = await db.all(Delivery, Delivery.kind == "guardian_left")
    assert len(left) == 2 and {d.state for d in left} == {"sent"}
