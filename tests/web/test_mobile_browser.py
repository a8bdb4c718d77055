"""The journey in a real browser (the distribution's Chromium, a 360×740 phone, JavaScript off):
a grandmother whose phone is on record signs in with the code from the SMS double, answers half a
PSC-17, closes the page, comes back and finishes it, answers the weekly safety question "yes",
sees the safety page with tap-to-call links, and the child director's alert card goes out to
Telegram (the Bot API double) through the outbox sender."""
from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bot.factory import build_bot
from bot.i18n import build_i18n
from bot.messenger import TelegramMessenger
from core.delivery.ratelimit import TokenBucket
from core.flows.delivery import sender_hooks
from core.delivery.sender import Sender, SenderConfig
from tests.doubles.bot_api import BotAPIDouble
from tests.web.conftest import PHONE
from tests.web.mobile_fixtures import DIRECTOR_CHAT, GRANDMA_PHONE, mobile  # noqa: F401


@pytest.fixture
def web_app(mobile, request):  # type: ignore[no-untyped-def]
    """live_server serves the village's app (with the SMS double); the browser runs on SQLite only."""
    if "postgresql" in request.node.callspec.params.get("db_url", ""):
        pytest.skip("the browser journey runs once, on SQLite")
    return mobile.app


class NoWait:
    def __init__(self) -> None:
        self.t = 0.0

    def monotonic(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        self.t += seconds


async def _tap(page, locator) -> None:  # type: ignore[no-untyped-def]
    async with page.expect_navigation():
        await locator.click()


async def test_guardian_signs_in_answers_resumes_and_raises_an_alert(live_server, browser, mobile, sessionmaker,
                                                                     settings, clock, tmp_path: Path):
    context = await browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                        java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{live_server}/m/")
    await _tap(page, page.get_by_role("link", name="用手机号登录"))
    await page.get_by_label("您的手机号").fill("138 1234 5678")
    await _tap(page, page.get_by_role("button", name="给我发验证码"))
    await page.get_by_label("6位数的验证码").fill(mobile.sms.code_for(GRANDMA_PHONE))
    await _tap(page, page.get_by_role("button", name="登录"))
    assert await page.get_by_role("heading", name="等您回答的问题").is_visible()

    # PSC-17: half of it, then the page is closed.
    await _tap(page, page.locator(f'a[href="/m/checkins/{mobile.psc17_id}"]'))
    for number in range(1, 9):
        assert await page.locator(".count").inner_text() == f"{number}/17"
        choice = page.locator("button.choice").first
        box = await choice.bounding_box()
        assert box is not None and box["height"] >= 48 and box["width"] >= 300  # a big tap target
        await _tap(page, choice)
    await page.close()

    page = await context.new_page()  # the same phone, later: still signed in, carries on at 9/17
    await page.goto(f"{live_server}/m/")
    assert "已经答了 8 题，共 17 题" in await page.locator(".cards").inner_text()
    await _tap(page, page.locator(f'a[href="/m/checkins/{mobile.psc17_id}"]'))
    assert await page.locator(".count").inner_text() == "9/17"
    await _tap(page, page.get_by_role("button", name="⬅️ 上一题"))
    assert await page.locator(".count").inner_text() == "8/17"
    for _ in range(8, 18):
        await _tap(page, page.locator("button.choice").first)
    assert await page.get_by_role("heading", name="谢谢您！问题都答完了。").is_visible()

    # The weekly check-in about 小明, to its safety question: "yes".
    weekly = mobile.weekly_ids[mobile.village.older.id]
    await page.goto(f"{live_server}/m/checkins/{weekly}")
    for _ in range(5):
        await _tap(page, page.locator("button.choice").first)
    assert await page.locator(".count").inner_text() == "6/6"
    await _tap(page, page.get_by_role("button", name="有：说过想伤害自己或不想活"))
    assert page.url.endswith(f"/m/checkins/{weekly}/safety")
    assert await page.get_by_role("heading", name="马上求助").is_visible()
    call = page.locator('a[href="tel:110"]').first
    assert await call.is_visible() and (await call.bounding_box())["height"] >= 48
    for number in ("120", "12356", "12355", "13700001111"):
        assert await page.locator(f'a[href="tel:{number}"]').count() >= 1
    await context.close()

    # The director's card: queued as the answer was stored, sent by the outbox to Telegram.
    double = BotAPIDouble()
    double.record_calls = True
    base = await double.start()
    try:
        bot = build_bot(settings.model_copy(update={"telegram_token": "1:T", "telegram_api_base": base}))
        t = NoWait()
        sender = Sender(sessionmaker, TelegramMessenger(bot, build_i18n(settings), media_root=tmp_path),
                        hooks=sender_hooks(), clock=clock,
                        config=SenderConfig(rate=30, concurrency=1),
                        bucket=TokenBucket(30, monotonic=t.monotonic, sleep=t.sleep))
        await sender.drain_once()
        cards = [p for m, p in double.calls if m == "sendmessage" and int(p["chat_id"]) == DIRECTOR_CHAT]
        assert cards and "小明" in cards[0]["text"]
        await bot.session.close()
    finally:
        await double.stop()
        await asyncio.sleep(0)


async def test_a_new_guardian_enrols_on_the_web_and_raises_an_alert(live_server, browser, mobile, sessionmaker,
                                                                    settings, clock, tmp_path: Path):
    """A grandmother with no Telegram: the invitation link, the questions one page at a time, the
    code from the SMS double; then this week's check-in, the safety answer "yes", and the
    director's card out through the outbox to the Bot API double."""
    from sqlalchemy import select

    from core.checkin.service import open_checkins_for_cohort
    from core.models import CheckIn, Guardian, Invitation

    async with sessionmaker() as session, session.begin():
        session.add(Invitation(cohort_id=mobile.village.cohort.id, code="village-web", created_at=clock()))
    context = await browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                        java_script_enabled=False)
    page = await context.new_page()
    await page.goto(f"{live_server}/m/join/village-web")
    await _tap(page, page.get_by_role("button", name="开始"))
    await _tap(page, page.get_by_role("button", name="同意"))
    await _tap(page, page.get_by_role("button", name="奶奶 / 外婆"))
    await _tap(page, page.locator('button[value="with"]'))
    await page.get_by_label("怎么称呼您").fill("李奶奶")
    await _tap(page, page.get_by_role("button", name="下一步"))
    await page.get_by_label("您的手机号").fill("136 1111 2222")
    await _tap(page, page.get_by_role("button", name="给我发验证码"))
    await page.get_by_label("6位数的验证码").fill(mobile.sms.code_for("+8613611112222"))
    await _tap(page, page.get_by_role("button", name="下一步"))
    await _tap(page, page.get_by_role("button", name="跳过这个问题"))
    await page.get_by_label("孩子的小名").fill("小花")
    await _tap(page, page.get_by_role("button", name="下一步"))
    await page.get_by_label("出生年份，比如 2018").fill("2017")
    await _tap(page, page.get_by_role("button", name="下一步"))
    await _tap(page, page.locator('button[value="5"]'))
    await _tap(page, page.get_by_role("button", name="女孩"))
    await _tap(page, page.get_by_role("button", name="没有了，就这些"))
    assert "小花" in await page.locator("dl.summary").inner_text()
    await _tap(page, page.get_by_role("button", name="对，没问题"))
    assert await page.get_by_role("heading", name="谢谢您！您已经加入守望了。").is_visible()

    async with sessionmaker() as session, session.begin():
        guardian = await session.scalar(select(Guardian).where(Guardian.phone == "+8613611112222"))
        assert guardian is not None
        await open_checkins_for_cohort(session, cohort_id=mobile.village.cohort.id, questionnaire_id="weekly_checkin",
                                       cycle="2026-W48", now=clock())
        weekly = await session.scalar(select(CheckIn.id).where(CheckIn.household_id == guardian.household_id,
                                                               CheckIn.questionnaire_id == "weekly_checkin"))
    assert weekly is not None
    await _tap(page, page.get_by_role("link", name="打开我的页面"))
    await _tap(page, page.locator(f'a[href="/m/checkins/{weekly}"]'))
    for _ in range(5):
        await _tap(page, page.locator("button.choice").first)
    await _tap(page, page.get_by_role("button", name="有：说过想伤害自己或不想活"))
    assert await page.get_by_role("heading", name="马上求助").is_visible()
    await context.close()

    double = BotAPIDouble()
    double.record_calls = True
    base = await double.start()
    try:
        bot = build_bot(settings.model_copy(update={"telegram_token": "1:T", "telegram_api_base": base}))
        t = NoWait()
        sender = Sender(sessionmaker, TelegramMessenger(bot, build_i18n(settings), media_root=tmp_path),
                        hooks=sender_hooks(), clock=clock, config=SenderConfig(rate=30, concurrency=1),
                        bucket=TokenBucket(30, monotonic=t.monotonic, sleep=t.sleep))
        await sender.drain_once()
        cards = [p for m, p in double.calls if m == "sendmessage" and int(p["chat_id"]) == DIRECTOR_CHAT]
        assert cards and any("小花" in card["text"] for card in cards)
        await bot.session.close()
    finally:
        await double.stop()
        await asyncio.sleep(0)
