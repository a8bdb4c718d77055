"""/start <code>: staff links, and codes that cannot be used (answered in both languages)."""
from __future__ import annotations

from aiogram.methods import SetMyCommands

from datetime import timedelta

from sqlalchemy import update

from core.models import CodeAttempt, Draft, Endpoint, Guardian, Staff
from core.models import Invitation
from harness import text_of
from tests.endpoints import at


def _zh_then_en(text: str, zh: str, en: str) -> None:
    assert zh in text and en in text, text
    assert text.index(zh) < text.index(en)


async def test_unknown_code_in_both_languages_and_the_attempt_is_kept(person, world, db):
    p = person("en")
    sent = await p.send("/start nosuchcode")
    _zh_then_en(text_of(sent), "这个链接或邀请码不对", "this link or code is not right")
    assert await db.count(CodeAttempt, CodeAttempt.address == p.address) == 1
    assert await db.count(Draft) == 0


async def test_expired_code(person, make_invitation, clock):
    code = await make_invitation(expires_at=clock() + timedelta(days=1))
    clock.advance(days=2)
    sent = await person("zh").send(f"/start {code}")
    _zh_then_en(text_of(sent), "这个链接已经过期了", "this link has expired")


async def test_used_up_code(enrol, person, make_invitation):
    code = await make_invitation(max_uses=1)
    await enrol(code=code)
    sent = await person("zh").send(f"/start {code}")
    _zh_then_en(text_of(sent), "这个链接已经用过了", "this link has already been used")


async def test_revoked_code(person, make_invitation, sessionmaker):
    code = await make_invitation()
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Invitation).where(Invitation.code == code)
                              .values(revoked_at=Invitation.created_at))
    sent = await person("en").send(f"/start {code}")
    _zh_then_en(text_of(sent), "这个链接已经不能用了", "this link is no longer valid")


async def test_too_many_wrong_codes_slow_down_even_a_right_one(person, world, settings, clock, db):
    p = person("zh")
    for n in range(settings.code_attempts_max):
        await p.send(f"/start wrong{n}")
    sent = await p.send(f"/start {world.invitation_code}")
    minutes = settings.code_attempts_window_minutes + 1  # the window, rounded up to whole minutes
    _zh_then_en(text_of(sent), f"请等{minutes}分钟", f"Please wait {minutes} minutes")
    assert await db.count(Draft) == 0
    clock.advance(minutes=settings.code_attempts_window_minutes + 1)
    sent = await p.send(f"/start {world.invitation_code}")
    assert "请选择您的语言" in text_of(sent)


async def test_staff_member_links_their_chat(person, world, db):
    director = person("en")  # Telegram in English; the staff record says zh-Hans
    sent = await director.send(f"/start {world.director_link_code}")
    text = text_of(sent)
    assert "这个聊天已经连接到您的工作人员账号：王主任（儿童主任）" in text
    assert "石桥村" in text
    assert "/alerts — 未处理的警报，最严重的在前" in text  # what they can do now
    [menu] = [m for m in sent if isinstance(m, SetMyCommands)]
    assert menu.scope.chat_id == director.chat_id
    assert [c.command for c in menu.commands] == ["alerts", "inbox", "case", "roster", "visits", "checknow", "myphone",
                                                  "help"]
    assert menu.commands[0].description == "未处理的警报，最严重的在前"
    [staff] = await db.all(Staff, Staff.id == world.director_id)
    assert staff.link_code_hash is None
    assert [s.id for s in await db.all(Staff, at(director.chat_id, Staff))] == [staff.id]
    # The code was one-time.
    sent = await person("en").send(f"/start {world.director_link_code}")
    assert "this link or code is not right" in text_of(sent)
    # Now linked: a bare /start and a guardian command are answered as staff.
    assert "王主任" in text_of(await director.send("/start"))
    assert "工作人员账号" in text_of(await director.send("/children"))


async def test_one_chat_can_be_a_guardian_and_a_staff_member(enrol, world, db):
    """Separate records at the same address (DESIGN: one Telegram account may be both)."""
    grandma = await enrol()
    await grandma.send(f"/start {world.director_link_code}")
    [guardian] = await db.all(Guardian, at(grandma.chat_id))
    [staff] = await db.all(Staff, at(grandma.chat_id, Staff))
    assert staff.id == world.director_id and guardian.household_id
    endpoints = await db.all(Endpoint, Endpoint.address == grandma.address)
    assert sorted((e.owner, e.channel, e.state) for e in endpoints) == [
        ("guardian", "telegram", "active"), ("staff", "telegram", "active")]
