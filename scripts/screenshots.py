"""Screenshots of the staff console for the docs: Today, a case, the ledger and the funnel, each on
a phone (360×740) and a desktop (1280×900), in Chinese. Builds a small made-up programme in a
temporary SQLite database (two villages, a director, a county supervisor, families, check-ins,
alerts of each colour, an inbox message, a visit and a referral), serves the production app on a
free local port, and drives the distribution's Chromium.

    .venv/bin/python scripts/screenshots.py            # writes docs/screenshots/*.png
    [--out DIR]

Chinese needs a CJK font for Chromium (apt-get install fonts-wqy-microhei or fonts-noto-cjk).
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import socket
import sys
import tempfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import httpx  # noqa: E402
import uvicorn  # noqa: E402
from sqlalchemy import update  # noqa: E402

from api.main import create_app  # noqa: E402
from core.endpoints.service import add_endpoint  # noqa: E402
from core.clock import FrozenClock  # noqa: E402
from core.config import Settings  # noqa: E402
from core.db import make_engine, make_sessionmaker  # noqa: E402
from core.migrate import upgrade  # noqa: E402
from core.models import Guardian  # noqa: E402
from tests.api.checkin_data import load_shipped_questionnaires, weekly_alerts  # noqa: E402
from tests.api.helpers import ADMIN, add_household  # noqa: E402
from web.app import mount  # noqa: E402

NOW = datetime(2026, 11, 23, 4, 0, tzinfo=timezone.utc)  # Monday noon in Asia/Shanghai
VIEWPORTS = {"phone": {"width": 360, "height": 740}, "desktop": {"width": 1280, "height": 900}}
FAMILIES = [  # (village, village group, guardian's name, phone, children, weekly answers)
    (0, "一组", "张奶奶", "13800000001", (("小明", 2016, 3),), {"safety": 1}),
    (0, "二组", "李爷爷", "13800000002", (("小红", 2015, 7), ("豆豆", 2019, 1)), {"upsetting_event": 2}),
    (0, "二组", "王奶奶", "13800000003", (("乐乐", 2017, 5),), {"mood": 2}),
    (0, "三组", "赵外婆", "13800000004", (("妞妞", 2018, 9),), {}),
    (0, "三组", "陈爷爷", "13800000005", (("虎子", 2014, 11),), {}),
    (1, "一组", "刘奶奶", "13800000006", (("安安", 2016, 2),), {"safety": 1}),
    (1, "二组", "周爷爷", "13800000007", (("晨晨", 2017, 6),), {}),
]


async def build_world(client: httpx.AsyncClient, sessionmaker, clock: FrozenClock) -> dict:  # noqa: ANN001
    cohorts = []
    for name, region in (("东岭村", "甘肃 陇南 东岭乡"), ("西沟村", "甘肃 陇南 西沟乡")):
        r = await client.post("/api/v1/cohorts", json={"name": name, "region": region}, headers=ADMIN)
        cohorts.append(r.json()["id"])
    director = (await client.post("/api/v1/staff", headers=ADMIN, json={
        "display_name": "王主任", "role": "director", "cohort_ids": [cohorts[0]],
        "primary_cohort_ids": [cohorts[0]]})).json()
    west = (await client.post("/api/v1/staff", headers=ADMIN, json={
        "display_name": "孙主任", "role": "director", "cohort_ids": [cohorts[1]],
        "primary_cohort_ids": [cohorts[1]]})).json()
    supervisor = (await client.post("/api/v1/staff", headers=ADMIN, json={
        "display_name": "李督导", "role": "supervisor", "cohort_ids": cohorts})).json()
    async with sessionmaker() as session, session.begin():
        for staff in (director, west):
            await add_endpoint(session, address=f"telegram:{700_000 + staff['id']}", staff_id=staff["id"], now=clock())
    await load_shipped_questionnaires(sessionmaker, clock)
    alerts, households = [], []
    clock.set(NOW - timedelta(days=3))
    for index, (village, group, name, phone, children, answers) in enumerate(FAMILIES):
        household = await add_household(sessionmaker, clock, cohorts[village], children=children)
        households.append(household)
        async with sessionmaker() as session, session.begin():
            await session.execute(update(Guardian).where(Guardian.id == household["guardian_id"])
                                  .values(call_name=name, phone="+86" + phone, village=group))
        for child_id in household["child_ids"]:
            _, fired = await weekly_alerts(sessionmaker, clock, cohort_id=cohorts[village], child_id=child_id,
                                           guardian_id=household["guardian_id"], cycle="2026-W48",
                                           **(answers if child_id == household["child_ids"][0] else {}))
            alerts.extend(fired.values())
        clock.advance(hours=7)
    clock.set(NOW - timedelta(hours=20))
    auth = {"Authorization": f"Bearer {director['credentials']['api_token']}"}
    first = households[1]
    await client.post(f"/api/v1/households/{first['id']}/contacts", headers=auth,
                      json={"method": "visit", "note": "上门看过，奶奶说孩子最近睡得好些了。"})
    from sqlalchemy import select

    from core.models import Alert
    async with sessionmaker() as session:
        red = await session.scalar(select(Alert).where(Alert.cohort_id == cohorts[0], Alert.severity == "red"))
        orange = await session.scalar(select(Alert).where(Alert.cohort_id == cohorts[0], Alert.severity == "orange"))
    clock.set(NOW - timedelta(hours=18))
    await client.post(f"/api/v1/alerts/{orange.id}/acknowledge", headers=auth)
    await client.post(f"/api/v1/cases/{orange.case_id}/referrals", headers=auth,
                      json={"to": "school_counsellor", "note": "请学校心理老师多关心。"})
    await client.post(f"/api/v1/cases/{orange.case_id}/notes", headers=auth,
                      json={"text": "和班主任通了电话，孩子在学校和同学闹了矛盾。"})
    clock.set(NOW - timedelta(hours=2))
    from tests.web.console_world import inbox_item
    await inbox_item(sessionmaker, clock, households[3]["guardian_id"], "孩子这几天不爱吃饭，怎么办？")
    clock.set(NOW)
    return {"cohorts": cohorts, "director": director, "supervisor": supervisor, "red": red, "orange": orange}


async def main(out: Path) -> None:
    from playwright.async_api import async_playwright

    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("no Chromium: apt-get install -y chromium")
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/shots.db"
        engine = make_engine(url)
        await upgrade(engine)
        sessionmaker = make_sessionmaker(engine)
        clock = FrozenClock(NOW)
        settings = Settings(_env_file=None, database_url=url, var_dir=Path(tmp), admin_token="test-admin-token",
                            telegram_bot_username="shouwang_bot")
        app = create_app(settings=settings, sessionmaker=sessionmaker, clock=clock)
        mount(app, settings=settings, sessionmaker=sessionmaker, clock=clock)
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://shots") as client:
            world = await build_world(client, sessionmaker, clock)
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        base = f"http://127.0.0.1:{sock.getsockname()[1]}"
        server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off"))
        serving = asyncio.create_task(server.serve(sockets=[sock]))
        out.mkdir(parents=True, exist_ok=True)
        try:
            async with async_playwright() as pw:
                browser = await pw.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
                shots = [("today", world["director"], "/console/"),
                         ("case", world["director"], f"/console/cases/{world['orange'].case_id}"),
                         ("ledger", world["director"], f"/console/cohorts/{world['cohorts'][0]}/households"),
                         ("funnel", world["supervisor"], "/console/reports?from=2026-11-01&to=2026-11-30")]
                for name, staff, path in shots:
                    for view, size in VIEWPORTS.items():
                        context = await browser.new_context(viewport=size, locale="zh-CN",
                                                            is_mobile=view == "phone", has_touch=view == "phone")
                        page = await context.new_page()
                        await page.goto(f"{base}/console/signin")
                        await page.fill("#code", staff["credentials"]["telegram_link_code"])
                        await page.click("form[action$='/signin'] button[type=submit]")
                        await page.wait_for_load_state()
                        await page.goto(base + path)
                        target = out / f"console-{name}-{view}.png"
                        await page.screenshot(path=str(target), full_page=False)
                        print(target.relative_to(ROOT), target.stat().st_size // 1024, "KiB")
                        await context.close()
                await browser.close()
        finally:
            server.should_exit = True
            await serving
            sock.close()
            await engine.dispose()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "screenshots")
    asyncio.run(main(parser.parse_args().out))
