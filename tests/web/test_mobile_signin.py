"""Signing in on the mobile pages: phone number → SMS code (read from the Aliyun double) → a
90-day session cookie; the bad inputs (wrong code five times, expired code, unknown number,
not a number, too many codes, expired or reused link), in both languages."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from core.access import Scope
from core.models import SignInCode, WebSession
from core.webauth.keys import load_secret
from core.webauth.service import create_link
from tests.web.mobile_fixtures import GRANDMA_PHONE, client, mobile, sign_in, text_of  # noqa: F401

EN = {"accept-language": "en"}


async def test_sign_in_with_a_code_then_stay_signed_in(client, mobile, sessionmaker, clock):
    entry = await client.get("/m/")
    assert "用手机号登录" in entry.text
    asked = await client.post("/m/signin", data={"phone": "138 1234 5678"})
    assert asked.status_code == 303 and asked.headers["location"] == "/m/signin/code"
    page = await client.get("/m/signin/code")
    assert "6位数的验证码" in page.text
    code = mobile.sms.code_for(GRANDMA_PHONE)
    assert mobile.sms.sent[-1].template_code == "SMS_900001" and mobile.sms.sent[-1].params == {"code": code}
    wrong = await client.post("/m/signin/code", data={"code": "000000" if code != "000000" else "111111"})
    assert wrong.status_code == 422 and "还可以再试 4 次" in text_of(wrong.text)
    done = await client.post("/m/signin/code", data={"code": code})
    assert done.status_code == 303
    cookie = done.headers["set-cookie"]
    assert "sw_session=" in cookie and "HttpOnly" in cookie and "Secure" in cookie and "Max-Age=7776000" in cookie
    home = await client.get("/m/")
    assert "等您回答的问题" in home.text and "退出登录" in home.text
    async with sessionmaker() as session:
        stored = (await session.scalars(select(SignInCode))).one()
        web = (await session.scalars(select(WebSession))).one()
    assert code not in stored.code_hash and stored.used_at is not None
    token = client.cookies.get("sw_session")
    assert token and token not in web.token_hash  # only hashes are stored
    clock.advance(days=91)
    assert "用手机号登录" in (await client.get("/m/")).text  # 90 days, then sign in again


async def test_an_unknown_number_sees_the_same_pages_and_gets_no_sms(client, mobile):
    asked = await client.post("/m/signin", data={"phone": "13600000000"})
    assert asked.status_code == 303  # the same answer as for a number on record
    page = await client.get("/m/signin/code")
    assert "如果这个号码已经登记" in page.text and "请儿童主任帮您登记" in page.text
    assert mobile.sms.sent == []
    wrong = await client.post("/m/signin/code", data={"code": "123456"})
    assert wrong.status_code == 422


async def test_five_wrong_codes_lock_it(client, mobile):
    await client.post("/m/signin", data={"phone": GRANDMA_PHONE})
    code = mobile.sms.code_for(GRANDMA_PHONE)
    bad = "999999" if code != "999999" else "888888"
    for _ in range(4):
        assert (await client.post("/m/signin/code", data={"code": bad})).status_code == 422
    locked = await client.post("/m/signin/code", data={"code": bad})
    assert locked.status_code == 410 and "输错了五次" in locked.text
    # The right code no longer works either.
    again = await client.post("/m/signin/code", data={"code": code})
    assert again.status_code == 410


async def test_an_expired_code_and_a_missing_challenge(client, mobile, clock):
    await client.post("/m/signin", data={"phone": GRANDMA_PHONE})
    code = mobile.sms.code_for(GRANDMA_PHONE)
    clock.advance(minutes=11)
    late = await client.post("/m/signin/code", data={"code": code})
    assert late.status_code == 410 and "验证码已经失效" in late.text
    client.cookies.clear()
    other_browser = await client.post("/m/signin/code", data={"code": code}, headers=EN)
    assert other_browser.status_code == 410 and "no longer valid" in other_browser.text


async def test_not_a_number_and_too_many_codes(client, mobile, clock):
    bad = await client.post("/m/signin", data={"phone": "王奶奶"})
    assert bad.status_code == 422 and "不像是手机号" in bad.text and 'aria-invalid="true"' in bad.text
    bad_en = await client.post("/m/signin", data={"phone": "12"}, headers=EN)
    assert "does not look like a mobile number" in bad_en.text
    assert (await client.post("/m/signin", data={"phone": GRANDMA_PHONE})).status_code == 303
    again = await client.post("/m/signin", data={"phone": GRANDMA_PHONE})
    assert again.status_code == 429 and "请过 1 分钟再试" in text_of(again.text)
    assert len(mobile.sms.sent) == 1
    clock.advance(minutes=1, seconds=1)
    assert (await client.post("/m/signin", data={"phone": GRANDMA_PHONE})).status_code == 303


async def test_too_many_codes_from_one_address(client, mobile):
    for i in range(20):
        assert (await client.post("/m/signin", data={"phone": f"1360000{i:04d}"})).status_code == 303
    refused = await client.post("/m/signin", data={"phone": "13600009999"}, headers=EN)
    assert refused.status_code == 429 and "try again in" in refused.text


async def test_sign_out(client, mobile, sessionmaker):
    await sign_in(client, mobile)
    out = await client.post("/m/signout")
    assert out.status_code == 200 and "您已退出登录" in out.text
    async with sessionmaker() as session:
        assert (await session.scalars(select(WebSession))).one().ended_at is not None
    assert "用手机号登录" in (await client.get("/m/")).text


async def test_a_staff_link_signs_in_once(client, mobile, sessionmaker, clock):
    secret = load_secret(mobile.settings)
    scope = Scope(staff_id=mobile.director_id, role="director", cohort_ids=frozenset({mobile.village.cohort.id}))
    async with sessionmaker() as session, session.begin():
        token, _, _ = await create_link(session, scope=scope, guardian_id=mobile.village.grandma.id, secret=secret,
                                     now=clock())
        expiring, _, _ = await create_link(session, scope=scope, guardian_id=mobile.village.grandma.id, secret=secret,
                                        now=clock() - timedelta(hours=80))
    assert GRANDMA_PHONE not in token and "王" not in token
    confirm = await client.get(f"/m/link/{token}")
    assert confirm.status_code == 200 and "这个链接是儿童主任为您做的" in confirm.text
    used = await client.post(f"/m/link/{token}")
    assert used.status_code == 303 and "sw_session" in used.headers["set-cookie"]
    assert "等您回答的问题" in (await client.get("/m/")).text
    client.cookies.clear()
    again = await client.post(f"/m/link/{token}")
    assert again.status_code == 410 and "这个链接已经用过了" in again.text
    old = await client.post(f"/m/link/{expiring}", headers=EN)
    assert old.status_code == 410 and "This link has expired" in old.text
    unknown = await client.post("/m/link/nonsense")
    assert unknown.status_code == 410 and "这个链接用不了" in unknown.text


async def test_a_desktop_browser_is_told_the_pages_are_for_phones(client, mobile):
    page = await client.get("/m/signin", headers={"user-agent": "Mozilla/5.0 (X11; Linux x86_64) Chrome/120"})
    assert "这些页面是为手机做的" in page.text
    phone = await client.get("/m/signin")
    assert "这些页面是为手机做的" not in phone.text


async def test_staff_make_a_link_through_the_api_for_their_own_families_only(client, mobile, sessionmaker, clock):
    from core.models import Cohort, Staff, StaffCohort
    from core.security import hash_secret

    async with sessionmaker() as session, session.begin():
        other = Cohort(name="别的村", region="", timezone="Asia/Shanghai", default_locale="zh-Hans",
                       lesson_schedule={}, checkin_schedule={}, created_at=clock())
        session.add(other)
        await session.flush()
        stranger = Staff(display_name="别的主任", role="director", token_hash=hash_secret("stranger-token"),
                         created_at=clock())
        session.add(stranger)
        await session.flush()
        session.add(StaffCohort(staff_id=stranger.id, cohort_id=other.id, is_primary=True))
    grandma = mobile.village.grandma.id
    refused = await client.post(f"/api/v1/guardians/{grandma}/web-link",
                                headers={"authorization": "Bearer stranger-token"})
    assert refused.status_code == 404  # another cohort's family looks like nothing
    made = await client.post(f"/api/v1/guardians/{grandma}/web-link",
                             headers={"authorization": "Bearer director-token"})
    assert made.status_code == 201
    body = made.json()
    assert body["url"].startswith("http://127.0.0.1:8000/m/link/") and body["qr_png_base64"].startswith("iVBOR")
    path = body["url"].removeprefix("http://127.0.0.1:8000")
    assert (await client.post(path)).status_code == 303
    assert "等您回答的问题" in (await client.get("/m/")).text


async def test_every_page_offers_the_other_language(client, mobile):
    zh = await client.get("/m/signin")
    assert 'href="?lang=en"' in zh.text
    en = await client.get("/m/signin?lang=en")
    assert '<html lang="en">' in en.text and 'href="?lang=zh-Hans"' in en.text
    assert '<html lang="en">' in (await client.get("/m/")).text  # the choice is kept (a cookie)


async def test_without_an_sms_channel_every_number_hears_the_same(client, mobile):
    for sub in mobile.app.routes:
        if getattr(sub, "path", "") == "/m":
            sub.app.state.sms = None
    for number in (GRANDMA_PHONE, "+8613600000000"):
        page = await client.post("/m/signin", data={"phone": number})
        assert page.status_code == 503 and "现在发不了短信" in page.text
