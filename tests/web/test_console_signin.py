"""Console sign-in: a link code or API token, or a one-time code (and link) sent to the staff
member's Telegram through the outbox; secure http-only SameSite cookies holding a token whose
hash alone is stored; CSRF tokens on every form; sign-out, expiry, idle time-out and revocation
by admins; and every way in written to the audit log."""
from __future__ import annotations

from datetime import timedelta
from urllib.parse import unquote
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from core.messages import MessageKind
from core.models import AuditLog, Delivery, Staff, StaffSignInCode, StaffWebSession
from core.security import hash_secret
from core.staff import websessions
from tests.web.console_world import CSRF
from tests.web.console_world import browsers, console_world, drain_to_bot_double, link_code, signin_post  # noqa: F401


async def test_a_page_without_a_session_goes_to_the_sign_in_page(web_client):
    response = await web_client.get("/console/cases?status=open")
    assert response.status_code == 303
    assert response.headers["location"].startswith("/console/signin?next=")
    assert unquote(response.headers["location"].split("next=")[1]) == "/cases?status=open"
    page = await web_client.get(response.headers["location"], headers={"accept-language": "zh-CN"})
    assert page.status_code == 200 and "登录守望工作台" in page.text


async def test_link_code_signs_in_with_a_secure_cookie_and_only_its_hash_is_stored(
        console_world, web_client, sessionmaker):
    director = console_world.a.director
    response = await signin_post(web_client, "/console/signin", {"code": link_code(director), "next": "/cases"})
    assert response.status_code == 303 and response.headers["location"] == "/console/cases"
    cookie = response.headers["set-cookie"]
    assert cookie.startswith("sw_console=sws_")
    assert "HttpOnly" in cookie and "SameSite=lax" in cookie and "Path=/console" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    async with sessionmaker() as session:
        row = (await session.scalars(select(StaffWebSession))).one()
        assert row.staff_id == director["id"] and row.method == "link_code"
        assert row.token_hash == hash_secret(token) and token not in str(row.__dict__)
        audit = (await session.scalars(select(AuditLog).where(AuditLog.entity == "web_session"))).one()
        assert (audit.staff_id, audit.action) == (director["id"], "create")


async def test_over_https_the_cookie_is_secure(console_world, web_app):
    import httpx

    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=web_app), base_url="https://test") as client:
        response = await signin_post(client, "/console/signin", {"code": link_code(console_world.a.director)})
        assert "Secure" in response.headers["set-cookie"]


async def test_a_wrong_code_is_refused_in_the_readers_language(console_world, web_client):
    zh = await signin_post(web_client, "/console/signin", {"code": "sWRONGCODE"}, headers={"accept-language": "zh-CN"})
    assert zh.status_code == 401 and "这个码不对" in zh.text and "set-cookie" not in zh.headers
    en = await signin_post(web_client, "/console/signin", {"code": ""}, headers={"accept-language": "en"})
    assert en.status_code == 401 and "This code did not work" in en.text


async def test_an_api_token_and_the_admin_token_sign_in_too(console_world, web_client, browsers):
    supervisor = await browsers(console_world.a.supervisor["credentials"]["api_token"])
    assert (await supervisor.get("/console/")).status_code == 200
    admin = await browsers("test-admin-token")
    assert (await admin.get("/console/admin")).status_code == 200


async def test_an_expired_link_code_does_not_sign_in(console_world, web_client, sessionmaker, clock):
    clock.advance(days=8)  # link codes last 7 days
    response = await signin_post(web_client, "/console/signin", {"code": link_code(console_world.a.director)})
    assert response.status_code == 401


async def test_an_open_redirect_is_not_possible(console_world, web_client):
    for target in ("//evil.example/x", "https://evil.example/", "/\\evil.example"):
        response = await signin_post(web_client, "/console/signin", {"code": link_code(console_world.a.director), "next": target})
        assert response.headers["location"] == "/console/"


async def test_forms_need_the_csrf_token(console_world, browsers):
    director = await browsers(link_code(console_world.a.director))
    alert = console_world.red_a
    refused = await director.post(f"/console/alerts/{alert}/acknowledge", {"next": "/"}, csrf=False)
    assert refused.status_code == 403
    forged = await director.client.post(f"/console/alerts/{alert}/acknowledge", data={"csrf": "0" * 40})
    assert forged.status_code == 403
    accepted = await director.post(f"/console/alerts/{alert}/acknowledge", {"next": "/"})
    assert accepted.status_code == 303


async def test_sign_out_ends_the_session(console_world, browsers, sessionmaker):
    director = await browsers(link_code(console_world.a.director))
    assert (await director.get("/console/")).status_code == 200
    out = await director.post("/console/signout")
    assert out.status_code == 303 and out.headers["location"] == "/console/signin"
    async with sessionmaker() as session:
        row = (await session.scalars(select(StaffWebSession))).one()
        assert row.revoked_at is not None
    # Even with the old cookie still sent, the session is over.
    old = director.client.cookies.get("sw_console")
    assert old is None or (await director.get("/console/")).status_code == 303


async def test_sessions_expire_and_end_when_idle(console_world, browsers, clock):
    director = await browsers(link_code(console_world.a.director))
    for _ in range(4):  # used every three hours: stays signed in until the 12 hours are up
        assert (await director.get("/console/")).status_code == 200
        clock.advance(hours=3)
    assert (await director.get("/console/")).status_code == 303  # 12 h after signing in
    idle = await browsers(console_world.a.supervisor["credentials"]["api_token"])
    clock.advance(hours=websessions.IDLE_HOURS, minutes=1)
    assert (await idle.get("/console/")).status_code == 303


async def test_admins_see_and_end_sessions_and_others_cannot(console_world, browsers, sessionmaker):
    director = await browsers(link_code(console_world.a.director))
    assert (await director.get("/console/admin")).status_code == 403
    admin = await browsers(link_code(console_world.admin))
    page = await admin.get("/console/admin")
    assert page.status_code == 200 and "东岭村主任" in page.text
    async with sessionmaker() as session:
        row = await session.scalar(select(StaffWebSession).where(
            StaffWebSession.staff_id == console_world.a.director["id"]))
    assert (await director.post(f"/console/admin/sessions/{row.id}/revoke")).status_code == 403
    assert (await admin.post(f"/console/admin/sessions/{row.id}/revoke")).status_code == 303
    assert (await director.get("/console/")).status_code == 303
    async with sessionmaker() as session:
        audit = await session.scalar(select(AuditLog).where(AuditLog.entity == "web_session",
                                                            AuditLog.action == "delete"))
        assert audit.staff_id == console_world.admin["id"] and audit.detail["of_staff_id"] == row.staff_id


async def test_a_deactivated_staff_member_is_signed_out(console_world, browsers, sessionmaker):
    director = await browsers(link_code(console_world.a.director))
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Staff).where(Staff.id == console_world.a.director["id"]).values(active=False))
    assert (await director.get("/console/")).status_code == 303


async def _with_phone(sessionmaker, staff_id: int, phone: str = "+8613812345678") -> None:
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Staff).where(Staff.id == staff_id).values(phone=phone))


async def test_a_code_sent_to_telegram_signs_in_the_browser_that_asked(
        console_world, browsers, sessionmaker, settings, clock, tmp_path):
    await _with_phone(sessionmaker, console_world.a.director["id"])
    asker = await browsers(None)
    page = await asker.signin("/console/signin/telegram", {"phone": "138 1234 5678"})
    assert page.status_code == 200 and "六位验证码已经发出" in page.text
    async with sessionmaker() as session:
        delivery = (await session.scalars(select(Delivery).where(Delivery.kind == MessageKind.CONSOLE_SIGNIN))).one()
        assert (delivery.lane, delivery.staff_id) == (0, console_world.a.director["id"])
        assert delivery.payload["link"] is None  # no public address configured: the code only
        code = delivery.payload["code"]
        stored = (await session.scalars(select(StaffSignInCode))).one()
        assert stored.code_hash == hash_secret(code)
    # The real messenger renders it; the Bot API double receives the code in the staff chat.
    calls = await drain_to_bot_double(sessionmaker, settings, clock, tmp_path)
    [params] = [p for m, p in calls if m == "sendmessage" and p["chat_id"] == delivery.address.partition(":")[2]
                and "守望工作台" in p["text"]]
    assert code in params["text"]
    # Another browser cannot use the code; the one that asked can, once.
    other = await browsers(None)
    assert (await other.signin("/console/signin/telegram/code", {"code": code})).status_code == 401
    wrong = await asker.signin("/console/signin/telegram/code", {"code": "000000" if code != "000000"
                                                                            else "111111"})
    assert wrong.status_code == 401 and "验证码不对" in wrong.text
    signed = await asker.signin("/console/signin/telegram/code", {"code": code})
    assert signed.status_code == 303
    assert (await asker.get("/console/")).status_code == 200
    again = await browsers(None)
    again.client.cookies.set("sw_console_browser", asker.client.cookies.get("sw_console_browser"), path="/console")
    assert (await again.signin("/console/signin/telegram/code", {"code": code})).status_code == 401


async def test_telegram_codes_stop_after_five_wrong_tries_and_unknown_numbers_get_the_same_page(
        console_world, browsers, sessionmaker):
    await _with_phone(sessionmaker, console_world.a.director["id"])
    unknown = await browsers(None)
    page = await unknown.signin("/console/signin/telegram", {"phone": "13900000000"})
    assert page.status_code == 200 and "六位验证码已经发出" in page.text
    bad = await unknown.signin("/console/signin/telegram", {"phone": "12"})
    assert bad.status_code == 422 and "请输入手机号" in bad.text
    asker = await browsers(None)
    await asker.signin("/console/signin/telegram", {"phone": "13812345678"})
    async with sessionmaker() as session:
        code = (await session.scalars(select(Delivery).where(Delivery.kind == MessageKind.CONSOLE_SIGNIN))).one() \
            .payload["code"]
        assert await session.scalar(select(Delivery).where(Delivery.kind == MessageKind.CONSOLE_SIGNIN,
                                                           Delivery.staff_id != console_world.a.director["id"])) is None
    wrong = "000000" if code != "000000" else "111111"
    for _ in range(websessions.SIGNIN_CODE_ATTEMPTS):
        await asker.signin("/console/signin/telegram/code", {"code": wrong})
    assert (await asker.signin("/console/signin/telegram/code", {"code": code})).status_code == 401


async def test_the_one_time_link_needs_a_press_and_works_once(console_world, browsers, sessionmaker, web_app, clock):
    # The console's public address, set for this test on the sub-apps' settings.
    for route in web_app.routes:
        sub = getattr(route, "app", None)
        if getattr(getattr(sub, "state", None), "settings", None) is not None:
            sub.state.settings = sub.state.settings.model_copy(update={"public_url": "https://sw.example.org/"})
    await _with_phone(sessionmaker, console_world.a.director["id"])
    asker = await browsers(None)
    await asker.signin("/console/signin/telegram", {"phone": "13812345678"})
    async with sessionmaker() as session:
        link = (await session.scalars(select(Delivery).where(Delivery.kind == MessageKind.CONSOLE_SIGNIN))).one() \
            .payload["link"]
    assert link.startswith("https://sw.example.org/console/signin/link/")
    path = link.removeprefix("https://sw.example.org")
    phone = await browsers(None)
    preview = await phone.client.get(path)  # a link preview, or the person opening it
    assert preview.status_code == 200 and "在这台设备上登录" in preview.text
    assert (await phone.signin(path)).status_code == 303
    assert (await phone.get("/console/")).status_code == 200
    assert (await (await browsers(None)).signin(path)).status_code == 401  # used


async def test_telegram_codes_are_limited_per_staff_member(console_world, browsers, sessionmaker):
    await _with_phone(sessionmaker, console_world.a.director["id"])
    asker = await browsers(None)
    for _ in range(websessions.SIGNIN_CODES_PER_WINDOW + 2):
        await asker.signin("/console/signin/telegram", {"phone": "13812345678"})
    async with sessionmaker() as session:
        sent = (await session.scalars(select(Delivery).where(Delivery.kind == MessageKind.CONSOLE_SIGNIN))).all()
    assert len(sent) == websessions.SIGNIN_CODES_PER_WINDOW


async def test_an_expired_telegram_code_does_not_sign_in(console_world, browsers, sessionmaker, clock):
    await _with_phone(sessionmaker, console_world.a.director["id"])
    asker = await browsers(None)
    await asker.signin("/console/signin/telegram", {"phone": "13812345678"})
    async with sessionmaker() as session:
        code = (await session.scalars(select(Delivery).where(Delivery.kind == MessageKind.CONSOLE_SIGNIN))).one() \
            .payload["code"]
    clock.advance(minutes=websessions.SIGNIN_CODE_MINUTES, seconds=1)
    assert (await asker.signin("/console/signin/telegram/code", {"code": code})).status_code == 401


async def test_admins_list_and_end_console_sessions_through_the_api(console_world, browsers, web_client):
    from tests.api.helpers import bearer

    w = console_world
    director = await browsers(link_code(w.a.director))
    assert (await director.get("/console/")).status_code == 200
    admin = bearer(w.admin["credentials"]["api_token"])
    listed = (await web_client.get("/api/v1/console-sessions", headers=admin)).json()
    [row] = [s for s in listed if s["staff_id"] == w.a.director["id"]]
    assert row["method"] == "link_code" and row["staff_name"] == "东岭村主任" and "token" not in str(row).lower()
    assert (await web_client.get("/api/v1/console-sessions", headers=w.a.director_auth)).status_code == 403
    ended = await web_client.post(f"/api/v1/console-sessions/{row['id']}/revoke", headers=admin)
    assert ended.status_code == 200 and ended.json()["revoked_at"] is not None
    assert (await director.get("/console/")).status_code == 303
    assert (await web_client.post("/api/v1/console-sessions/999/revoke", headers=admin)).status_code == 404


# ---------------------------------------------------------------- login CSRF and the throttle


async def test_the_sign_in_forms_need_their_own_csrf_field_in_the_readers_language(console_world, web_client):
    page = await web_client.get("/console/signin")
    cookie = page.headers["set-cookie"]
    assert cookie.startswith("sw_console_login=") and "HttpOnly" in cookie and "SameSite=lax" in cookie
    token = cookie.split(";")[0].split("=", 1)[1]
    assert token not in page.text  # the field is derived from the cookie, not a copy of it
    code = link_code(console_world.a.director)
    # Another site's form: no field, or a field from another browser's cookie.
    zh = await web_client.post("/console/signin", data={"code": code}, headers={"accept-language": "zh-CN"})
    assert zh.status_code == 403 and "页面打开太久" in zh.text and "sw_console=" not in zh.headers.get("set-cookie", "")
    en = await web_client.post("/console/signin", data={"code": code, "csrf": "0" * 40},
                               headers={"accept-language": "en"})
    assert en.status_code == 403 and "This page was open too long" in en.text
    for path in ("/console/signin/telegram", "/console/signin/telegram/code", "/console/signin/link/abc"):
        assert (await web_client.post(path, data={"phone": "13812345678", "code": "123456"})).status_code == 403
    async with web_client.__class__(transport=web_client._transport, base_url="http://test") as fresh:
        # A browser with no pre-session cookie cannot reuse a field seen in another browser.
        field = CSRF.search(page.text).group(1)
        assert (await fresh.post("/console/signin", data={"code": code, "csrf": field})).status_code == 403
    # The real page's field signs in.
    assert (await signin_post(web_client, "/console/signin", {"code": code})).status_code == 303


def _client_at(web_app, address: str):  # noqa: ANN001, ANN202
    import httpx

    return httpx.AsyncClient(transport=httpx.ASGITransport(app=web_app, client=(address, 40000)),
                             base_url="http://test")


async def test_failed_sign_ins_are_throttled_per_address_with_a_page_saying_when(
        console_world, web_app, settings, clock):
    limit = settings.console_signin_failures_max
    code = link_code(console_world.a.director)
    async with _client_at(web_app, "10.0.0.1") as guesser, _client_at(web_app, "10.0.0.2") as colleague:
        for _ in range(limit):
            assert (await signin_post(guesser, "/console/signin", {"code": "sGUESS"})).status_code == 401
        clock.advance(minutes=1)
        # Blocked now, even with the right code; in Chinese and English, with the time to come back.
        blocked = await signin_post(guesser, "/console/signin", {"code": code}, headers={"accept-language": "zh-CN"})
        assert blocked.status_code == 429 and "sw_console=" not in blocked.headers.get("set-cookie", "")
        wait = int(blocked.headers["retry-after"])
        assert wait == settings.console_signin_window_seconds - 60
        again = (clock() + timedelta(seconds=wait)).astimezone(ZoneInfo(settings.default_timezone)).strftime("%H:%M")
        assert "尝试次数太多" in blocked.text and again in blocked.text
        en = await signin_post(guesser, "/console/signin/telegram", {"phone": "13812345678"},
                               headers={"accept-language": "en"})
        assert en.status_code == 429 and f"try again after {again}" in en.text
        # Another address is not affected.
        assert (await signin_post(colleague, "/console/signin", {"code": code})).status_code == 303
        clock.advance(seconds=wait)
        assert (await signin_post(guesser, "/console/signin", {"code": code})).status_code == 303


async def test_wrong_telegram_codes_are_throttled_per_staff_member_across_addresses(
        console_world, web_app, settings, sessionmaker):
    await _with_phone(sessionmaker, console_world.a.director["id"])
    limit = settings.console_signin_staff_failures_max
    tried = 0
    for n in range(1, 10):
        if tried >= limit:
            break
        async with _client_at(web_app, f"10.0.1.{n}") as browser:
            await signin_post(browser, "/console/signin/telegram", {"phone": "13812345678"})
            for _ in range(min(websessions.SIGNIN_CODE_ATTEMPTS, limit - tried)):
                assert (await signin_post(browser, "/console/signin/telegram/code",
                                          {"code": "abcdef"})).status_code == 401
                tried += 1
    async with _client_at(web_app, "10.0.2.1") as fresh:
        await signin_post(fresh, "/console/signin/telegram", {"phone": "13812345678"})
        async with sessionmaker() as session:
            code = (await session.scalars(select(Delivery).where(Delivery.kind == MessageKind.CONSOLE_SIGNIN)
                                          .order_by(Delivery.id.desc()))).first().payload["code"]
        # A clean address with the right code: still refused while this staff member is throttled.
        blocked = await signin_post(fresh, "/console/signin/telegram/code", {"code": code},
                                    headers={"accept-language": "en"})
        assert blocked.status_code == 429 and "Too many tries that did not work" in blocked.text
        # A link code (their own other credential) still works from a clean address.
        assert (await signin_post(fresh, "/console/signin",
                                  {"code": link_code(console_world.a.director)})).status_code == 303
