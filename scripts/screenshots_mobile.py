"""Screenshots of the guardians' mobile pages as a grandmother sees them (a 360×740 phone,
zh-Hans, the distribution's Chromium), written to docs/screenshots/mobile/. Rerunnable: a fresh
SQLite database in a temporary folder, the shipped content, a small village (the test fixtures'
seed), the SMS channel wired to the local Aliyun double (the sign-in code is read from it), the
real app served by uvicorn on a free port.

    .venv/bin/python scripts/screenshots_mobile.py [OUT_DIR]
"""
from __future__ import annotations

import asyncio
import shutil
import socket
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import uvicorn  # noqa: E402
from playwright.async_api import async_playwright  # noqa: E402
from sqlalchemy import select  # noqa: E402

from api.main import create_app  # noqa: E402
from core.endpoints.service import add_endpoint, first_address  # noqa: E402
from core.checkin.service import open_checkins_for_cohort  # noqa: E402
from core.clock import FrozenClock  # noqa: E402
from core.config import PROJECT_ROOT, Settings  # noqa: E402
from core.catalog.loading import load_content  # noqa: E402
from core.db import make_engine, make_sessionmaker  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.models import CheckIn, Delivery, Guardian, Invitation, Staff, StaffCohort  # noqa: E402
from core.security import hash_secret  # noqa: E402
from tests.channels.sms_fixtures import make_double, make_notices, sms_settings  # noqa: E402
from tests.core.checkin_fixtures import seed_village  # noqa: E402
from web.app import mount  # noqa: E402

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)  # 12:00 in Shanghai
PHONE = {"width": 360, "height": 740}


async def main(out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix="shouwang-shots-"))
    clock = FrozenClock(NOW)
    settings = sms_settings(Settings(_env_file=None, database_url=f"sqlite+aiosqlite:///{tmp / 'shots.db'}",
                                     var_dir=tmp / "var"), web_cookie_secure=False)
    engine = make_engine(settings.database_url)
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        await load_content(session, root=PROJECT_ROOT / "content", now=NOW)
        village = await seed_village(session, now=NOW)
        village.grandma.phone = "+8613812345678"
        village.grandma.call_name = "王奶奶"
        director = Staff(display_name="李主任", role="director", token_hash=hash_secret("shots"),
                         phone="+8613700001111", phone_visible=True, created_at=NOW)
        session.add(director)
        await session.flush()
        await add_endpoint(session, address="telegram:9001", staff_id=director.id, now=NOW)
        session.add(StaffCohort(staff_id=director.id, cohort_id=village.cohort.id, is_primary=True))
        await open_checkins_for_cohort(session, cohort_id=village.cohort.id, questionnaire_id="weekly_checkin",
                                       cycle="2026-W48", now=NOW)
        await open_checkins_for_cohort(session, cohort_id=village.cohort.id, questionnaire_id="psc17",
                                       cycle="2026-11", now=NOW)
        lesson = Delivery(address=await first_address(session, guardian_id=village.grandma.id) or "", guardian_id=village.grandma.id, kind="lesson",
                          ref="schedule", cycle="2026-11-20T20:00", lane=2, state="sent", due_at=NOW, attempts=1,
                          payload={}, lesson_id="calm_consequences", lesson_version=2, created_at=NOW, sent_at=NOW)
        session.add(lesson)
        await session.flush()
        checkins = {(q, c): i for i, q, c in (await session.execute(
            select(CheckIn.id, CheckIn.questionnaire_id, CheckIn.child_id)
            .where(CheckIn.household_id == village.home_a.id))).all()}
        psc17 = checkins[("psc17", village.older.id)]
        weekly = checkins[("weekly_checkin", village.older.id)]
        lesson_id = lesson.id
        session.add(Invitation(cohort_id=village.cohort.id, code="village-web", created_at=NOW))
    double = make_double(clock)
    app = create_app(settings=settings, sessionmaker=sessionmaker, clock=clock)
    mount(app, settings=settings, sessionmaker=sessionmaker, clock=clock,
          sms=make_notices(settings, double, sessionmaker, clock))

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    base = f"http://127.0.0.1:{sock.getsockname()[1]}"
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    try:
        async with async_playwright() as pw:
            # A fake microphone, so the page's recorder can be shown recording (13, 14).
            browser = await pw.chromium.launch(executable_path=chromium, args=[
                "--no-sandbox", "--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"])
            context = await browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                                device_scale_factor=1, permissions=["microphone"])
            page = await context.new_page()

            async def shot(name: str) -> None:
                await page.screenshot(path=str(out / f"{name}.png"), full_page=True)

            async def tap(locator) -> None:  # type: ignore[no-untyped-def]
                async with page.expect_navigation():
                    await locator.click()

            await page.goto(f"{base}/m/")
            await shot("01_entry")
            await tap(page.get_by_role("link", name="用手机号登录"))
            await page.get_by_label("您的手机号").fill("138 1234 5678")
            await shot("02_sign_in")
            await tap(page.get_by_role("button", name="给我发验证码"))
            await page.get_by_label("6位数的验证码").fill(double.code_for("+8613812345678"))
            await shot("03_code")
            await tap(page.get_by_role("button", name="登录"))
            await shot("04_home")
            await page.goto(f"{base}/m/checkins/{psc17}")
            for _ in range(2):
                await tap(page.locator("button.choice").first)
            await shot("05_question")
            await page.goto(f"{base}/m/checkins/{weekly}")
            for _ in range(5):
                await tap(page.locator("button.choice").first)
            await tap(page.get_by_role("button", name="有：说过想伤害自己或不想活"))
            await shot("06_safety")
            await page.goto(f"{base}/m/lessons/{lesson_id}")
            await shot("07_lesson")
            await page.goto(f"{base}/m/write")
            await shot("08_write")
            # A voice message: recording (the running time), then listen and send.
            await page.get_by_role("button", name="开始录音").click()
            await page.wait_for_function("document.querySelector('.recorder .time').textContent === '0:02'")
            await page.locator("#voice").scroll_into_view_if_needed()
            await shot("13_recording")
            await page.get_by_role("button", name="停止").click()
            await page.get_by_role("button", name="发送录音").wait_for(state="visible")
            await shot("14_recorded")
            await tap(page.get_by_role("button", name="发送录音"))
            # Her own data, and leaving (each confirmed on its own page first).
            await page.goto(f"{base}/m/me")
            await shot("15_my_data")
            await page.goto(f"{base}/m/me/delete")
            await shot("16_delete_my_data")
            # Enrolling on the web: a new grandmother with the invitation link, no session yet.
            await context.close()
            context = await browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                                device_scale_factor=1)
            page = await context.new_page()
            await page.goto(f"{base}/m/join/village-web")
            await shot("09_join")
            await tap(page.get_by_role("button", name="开始"))
            await shot("10_join_consent")
            await tap(page.get_by_role("button", name="同意"))
            await tap(page.get_by_role("button", name="奶奶 / 外婆"))
            await tap(page.locator('button[value="with"]'))
            await page.get_by_label("怎么称呼您").fill("李奶奶")
            await shot("11_join_call_name")
            await tap(page.get_by_role("button", name="下一步"))
            await page.get_by_label("您的手机号").fill("136 1111 2222")
            await shot("12_join_phone")
            # A shared phone: grandpa gave grandma's number too. Who is using the phone now?
            async with sessionmaker() as session, session.begin():
                grandpa = await session.get(Guardian, village.father.id)
                assert grandpa is not None
                grandpa.relationship, grandpa.call_name, grandpa.phone = "grandfather", "王爷爷", "+8613812345678"
            clock.advance(minutes=2)  # the provider sends one code a minute to a number
            await context.close()
            context = await browser.new_context(viewport=PHONE, locale="zh-CN", is_mobile=True, has_touch=True,
                                                device_scale_factor=1)
            page = await context.new_page()
            await page.goto(f"{base}/m/signin")
            await page.get_by_label("您的手机号").fill("138 1234 5678")
            await tap(page.get_by_role("button", name="给我发验证码"))
            await page.get_by_label("6位数的验证码").fill(double.code_for("+8613812345678"))
            await tap(page.get_by_role("button", name="登录"))
            await shot("17_who_is_using_the_phone")
            await browser.close()
    finally:
        server.should_exit = True
        await serving
        await engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)
    for png in sorted(out.glob("*.png")):
        print(f"{png.relative_to(ROOT) if png.is_relative_to(ROOT) else png}: {png.stat().st_size // 1024} KiB")


if __name__ == "__main__":
    asyncio.run(main(Path(sys.argv[1]) if len(sys.argv) > 1 else ROOT / "docs" / "screenshots" / "mobile"))
