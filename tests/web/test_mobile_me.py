"""A guardian's own data, stopping and erasing on the web (what the web consent text names in
place of the bot's /mydata, /stop and /delete), through the same core services as the bot; the
web enrolment shows the web's own consent wording and records its version."""
from __future__ import annotations

from sqlalchemy import select

from core.models import Child, Delivery, Guardian, Household, InboxMessage, WebSession
from core.models.enums import GuardianStatus
from tests.web.mobile_fixtures import FATHER_PHONE, client, mobile, sign_in, text_of  # noqa: F401
from tests.web.test_mobile_join import _invitation
from tests.web.test_mobile_voice import OGG, _form_id


async def test_my_data_shows_only_my_own_record(client, mobile, sessionmaker):
    home_before = await client.get("/m/me")
    assert home_before.status_code == 303 and home_before.headers["location"] == "/m/signin"
    await sign_in(client, mobile)
    assert 'href="/m/me"' in (await client.get("/m/")).text
    page = await client.get("/m/me")
    words = text_of(page.text)
    assert page.status_code == 200 and "我的资料" in words and "138" in words
    assert "小明" in words and "小宝" in words and "停止接收消息" in words and "删除我的资料" in words
    assert FATHER_PHONE[3:] not in words  # the father's number is his, not hers
    assert 'href="/m/me/stop"' in page.text and 'href="/m/me/delete"' in page.text
    en = text_of((await client.get("/m/me?lang=en")).text)
    assert "This is what Shouwang keeps about you" in en and "Stop messages" in en and "Delete my data" in en


async def test_stop_messages_on_the_web(client, mobile, sessionmaker):
    await sign_in(client, mobile)
    confirm = await client.get("/m/me/stop")
    assert confirm.status_code == 200 and 'action="/m/me/stop"' in confirm.text and "您的资料会保留" in confirm.text
    assert "Your data is kept" in (await client.get("/m/me/stop?lang=en")).text
    stopped = await client.post("/m/me/stop?lang=zh-Hans")
    assert stopped.status_code == 200 and "不会再给您发消息" in stopped.text
    again = await client.post("/m/me/stop?lang=en")  # a second press: nothing else happens
    assert again.status_code == 200 and "already done" in again.text
    async with sessionmaker() as session:
        grandma = await session.get(Guardian, mobile.village.grandma.id)
        assert grandma.status == GuardianStatus.stopped
        told = (await session.scalars(select(Delivery).where(Delivery.kind == "guardian_left"))).all()
        assert len(told) == 1  # the child director hears that she stopped, once
    assert (await client.get("/m/me")).status_code == 303  # a stopped guardian's pages are closed


async def test_delete_my_data_on_the_web_erases_it_and_the_recordings(client, mobile, sessionmaker):
    await sign_in(client, mobile)
    sent = await client.post("/m/write/voice", data={"form_id": await _form_id(client)},
                             files={"voice": ("voice.ogg", OGG, "audio/ogg")})
    assert sent.status_code == 303
    root = mobile.settings.recordings_root
    assert len(list(root.iterdir())) == 1
    confirm = await client.get("/m/me/delete")
    assert confirm.status_code == 200 and "删除后不能恢复" in text_of(confirm.text)
    assert "cannot be undone" in (await client.get("/m/me/delete?lang=en")).text
    erased = await client.post("/m/me/delete?lang=zh-Hans")
    assert erased.status_code == 200 and "您的资料已经删除" in text_of(erased.text)
    assert "sw_session=" in erased.headers["set-cookie"]  # the cookie goes
    assert list(root.iterdir()) == []
    async with sessionmaker() as session:
        assert await session.get(Guardian, mobile.village.grandma.id) is None
        assert await session.get(Guardian, mobile.village.father.id) is not None  # the father stays
        assert (await session.scalars(select(Child).where(Child.household_id == mobile.village.home_a.id))).all()
        assert (await session.scalars(select(InboxMessage))).all() == []
        assert (await session.scalars(select(WebSession).where(
            WebSession.guardian_id == mobile.village.grandma.id))).all() == []
    twice = await client.post("/m/me/delete?lang=en")  # a second press
    assert twice.status_code == 200 and "already done" in twice.text


async def test_the_last_guardian_erasing_on_the_web_takes_the_household(client, mobile, sessionmaker):
    async with sessionmaker() as session, session.begin():
        father = await session.get(Guardian, mobile.village.father.id)
        await session.delete(father)
    await sign_in(client, mobile)
    erased = await client.post("/m/me/delete?lang=en")
    assert erased.status_code == 200 and "the children's details were erased too" in erased.text
    async with sessionmaker() as session:
        assert await session.get(Household, mobile.village.home_a.id) is None


async def test_the_web_enrolment_shows_the_web_consent_wording(client, mobile, sessionmaker, clock):
    await _invitation(sessionmaker, mobile, clock())
    await client.post("/m/join", data={"code": "village-a"})
    page = await client.get("/m/join/step")
    words = text_of(page.text)
    assert "我的资料" in words and "停止接收消息" in words and "删除我的资料" in words
    for command in ("/mydata", "/settings", "/stop", "/delete"):
        assert command not in words
    assert 'name="version" value="3"' in page.text  # consent_web.yaml's version is what is recorded
