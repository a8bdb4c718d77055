"""A shared phone: grandma and grandpa gave the same number. After the right SMS code the page
asks who is using the phone now (a big button each) and signs that person in; only people with
that number on record can be chosen, once per code; a double submit, the back button and a late
choice each get a clear page, in both languages."""
from __future__ import annotations


from sqlalchemy import select

from core.models import Guardian, WebSession
from core.models.enums import GuardianStatus
from tests.web.mobile_fixtures import GRANDMA_PHONE, client, mobile, text_of  # noqa: F401


async def _share(sessionmaker, mobile) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session, session.begin():
        grandpa = await session.get(Guardian, mobile.village.father.id)
        grandpa.relationship, grandpa.call_name, grandpa.phone = "grandfather", "李爷爷", GRANDMA_PHONE
        grandma = await session.get(Guardian, mobile.village.grandma.id)
        grandma.call_name = "李奶奶"


async def _code(client, mobile):  # type: ignore[no-untyped-def]
    asked = await client.post("/m/signin", data={"phone": GRANDMA_PHONE[3:]})
    assert asked.status_code == 303
    return await client.post("/m/signin/code", data={"code": mobile.sms.code_for(GRANDMA_PHONE)})


async def test_who_is_using_the_shared_phone_now(client, mobile, sessionmaker):
    await _share(sessionmaker, mobile)
    checked = await _code(client, mobile)
    assert checked.status_code == 303 and checked.headers["location"] == "/m/signin/who"
    assert "sw_session" not in checked.headers.get("set-cookie", "")  # nobody is signed in yet
    again = await client.post("/m/signin/code", data={"code": mobile.sms.code_for(GRANDMA_PHONE)})
    assert again.status_code == 303 and again.headers["location"] == "/m/signin/who"  # a double submit
    page = await client.get("/m/signin/who")
    words = text_of(page.text)
    assert page.status_code == 200 and "现在是谁在用手机" in words
    assert "李奶奶 · 奶奶" in words and "李爷爷 · 爷爷 / 外公" in words
    assert page.text.count('class="big choice"') == 2
    assert "Who is using the phone now?" in (await client.get("/m/signin/who?lang=en")).text
    other_family = await client.post("/m/signin/who?lang=zh-Hans", data={"guardian_id": mobile.village.mum_b.id})
    assert other_family.status_code == 422 and "请点下面的一个名字" in other_family.text
    chose = await client.post("/m/signin/who", data={"guardian_id": mobile.village.father.id})
    assert chose.status_code == 303 and chose.headers["location"] == "/m/"
    assert "sw_session=" in chose.headers["set-cookie"]
    me = text_of((await client.get("/m/me?lang=zh-Hans")).text)
    assert "李爷爷" in me and "李奶奶" not in me  # signed in as grandpa, his own record only
    twice = await client.post("/m/signin/who", data={"guardian_id": mobile.village.grandma.id})
    assert twice.status_code == 303 and twice.headers["location"] == "/m/"  # a second tap changes nothing
    assert (await client.get("/m/signin/who")).headers["location"] == "/m/"  # the back button
    async with sessionmaker() as session:
        sessions = (await session.scalars(select(WebSession))).all()
    assert [s.guardian_id for s in sessions] == [mobile.village.father.id]


async def test_the_choice_ends_with_the_code(client, mobile, sessionmaker, clock):
    await _share(sessionmaker, mobile)
    await _code(client, mobile)
    clock.advance(minutes=11)
    late = await client.get("/m/signin/who")
    assert late.status_code == 410 and "这个验证码已经失效了" in text_of(late.text)
    late_en = await client.post("/m/signin/who?lang=en", data={"guardian_id": mobile.village.grandma.id})
    assert late_en.status_code == 410 and "no longer valid" in late_en.text
    fresh = await client.get("/m/signin/who")
    assert fresh.status_code == 410


async def test_a_stopped_sharer_is_not_offered(client, mobile, sessionmaker):
    await _share(sessionmaker, mobile)
    async with sessionmaker() as session, session.begin():
        (await session.get(Guardian, mobile.village.father.id)).status = GuardianStatus.stopped
    checked = await _code(client, mobile)
    assert checked.status_code == 303 and checked.headers["location"] == "/m/"  # only grandma: straight in
    async with sessionmaker() as session:
        [web] = (await session.scalars(select(WebSession))).all()
    assert web.guardian_id == mobile.village.grandma.id
