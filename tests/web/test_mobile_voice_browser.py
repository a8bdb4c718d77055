"""The recorder in a real browser: Chromium (360×740 phone, JavaScript on) with its fake microphone
(--use-fake-device-for-media-stream) records through MediaRecorder, shows the running time,
stops, and sends the recording through the page's own form; it enters the inbox as a WebM file."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from core.inbox import recordings
from core.models import InboxMessage
from tests.web.conftest import PHONE, chromium_path
from tests.web.mobile_fixtures import GRANDMA_PHONE, mobile  # noqa: F401


@pytest.fixture
def web_app(mobile, request):  # type: ignore[no-untyped-def]
    if "postgresql" in request.node.callspec.params.get("db_url", ""):
        pytest.skip("the browser test runs once, on SQLite")
    return mobile.app


@pytest.fixture
async def recording_browser():  # type: ignore[no-untyped-def]
    path = chromium_path()
    if path is None:
        pytest.skip("no Chromium on this machine")
    from playwright.async_api import async_playwright

    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=path, args=[
            "--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
        try:
            yield browser
        finally:
            await browser.close()


async def test_a_guardian_records_and_sends_her_voice(live_server, recording_browser, mobile, sessionmaker):
    context = await recording_browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                                  permissions=["microphone"])
    page = await context.new_page()
    await page.goto(f"{live_server}/m/signin")
    await page.get_by_label("您的手机号").fill("138 1234 5678")
    async with page.expect_navigation():
        await page.get_by_role("button", name="给我发验证码").click()
    await page.get_by_label("6位数的验证码").fill(mobile.sms.code_for(GRANDMA_PHONE))
    async with page.expect_navigation():
        await page.get_by_role("button", name="登录").click()

    await page.goto(f"{live_server}/m/write")
    start = page.get_by_role("button", name="开始录音")
    assert await start.is_visible()
    assert not await page.locator(".plain-voice").is_visible()  # the script replaced the plain field
    box = await start.bounding_box()
    assert box is not None and box["height"] >= 48 and box["width"] >= 300
    size = await start.evaluate("b => parseFloat(getComputedStyle(b).fontSize)")
    assert size >= 18
    await start.click()
    stop = page.get_by_role("button", name="停止")
    await stop.wait_for(state="visible")
    await page.wait_for_function("document.querySelector('.recorder .time').textContent === '0:01'",
                                 timeout=10_000)
    await stop.click()
    send = page.get_by_role("button", name="发送录音")
    await send.wait_for(state="visible")
    assert await page.locator(".recorder audio").is_visible()
    async with page.expect_navigation():
        await send.click()
    assert "/m/write/" in page.url and page.url.endswith("/child")  # two children: which one?
    await context.close()

    async with sessionmaker() as session:
        [message] = (await session.scalars(select(InboxMessage))).all()
    assert (message.kind, message.media_type, message.address) == ("voice", "audio/webm", None)
    stored = recordings.path_of(mobile.settings.recordings_root, message.file_unique_id)
    assert stored.stat().st_size > 1000 and stored.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"
