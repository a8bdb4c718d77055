"""The console in a real browser (the distribution's Chromium): a director signs in and
acknowledges an alert, and the Telegram card's edit reaches the Bot API double; a county
supervisor opens the funnel and downloads the XLSX, whose cells equal the API's numbers; a
director of cohort A gets the not-found page for cohort B."""
from __future__ import annotations

import io

import httpx
import pytest
from openpyxl import load_workbook

from tests.api.helpers import bearer, create_staff
from tests.web.console_world import console_world, drain_to_bot_double, link_code  # noqa: F401

DESKTOP = {"width": 1280, "height": 900}


@pytest.fixture(autouse=True)
def _sqlite_only(request: pytest.FixtureRequest) -> None:
    # Browser journeys are few and slow; the PostgreSQL path is covered by the HTTP-level tests.
    if "postgresql" in str(getattr(request.node, "callspec", None) and request.node.callspec.params.get("db_url")):
        pytest.skip("browser journeys run on SQLite")


async def _page(browser, locale: str = "zh-CN"):  # noqa: ANN001, ANN202
    context = await browser.new_context(viewport=DESKTOP, locale=locale, accept_downloads=True)
    return context, await context.new_page()


async def _sign_in(page, base: str, code: str) -> None:  # noqa: ANN001
    await page.goto(f"{base}/console/")
    assert "/console/signin" in page.url
    await page.fill("#code", code)
    await page.click("form[action$='/signin'] button[type=submit]")
    await page.wait_for_url(f"{base}/console/")


async def test_director_acknowledges_and_the_telegram_card_changes(
        console_world, live_server, browser, sessionmaker, settings, clock, tmp_path):
    w = console_world
    first = await drain_to_bot_double(sessionmaker, settings, clock, tmp_path)  # the red card reaches her phone
    chat = str(700_000 + w.a.director["id"])
    assert any(m == "sendmessage" and p["chat_id"] == chat for m, p in first)
    context, page = await _page(browser)
    try:
        await _sign_in(page, live_server, link_code(w.a.director))
        card = page.locator(f"#alert-{w.red_a}")
        assert "红色" in await card.inner_text()
        await card.locator(f"[data-test=acknowledge-{w.red_a}]").click()
        await page.wait_for_url(f"{live_server}/console/?done=acknowledged")
        assert "手机上的提醒卡片也会跟着更新" in await page.locator(".notice").inner_text()
        assert await page.locator(f"[data-test=acknowledge-{w.red_a}]").count() == 0
    finally:
        await context.close()
    calls = await drain_to_bot_double(sessionmaker, settings, clock, tmp_path)
    [edit] = [p for m, p in calls if m == "editmessagetext" and p["chat_id"] == chat]
    assert "东岭村主任" in edit["text"]  # "acknowledged by …" on the card in Telegram


async def test_county_supervisor_downloads_the_funnel_xlsx_equal_to_the_api(
        console_world, live_server, browser, web_client, clock):
    w = console_world
    county = await create_staff(web_client, "supervisor", [w.a.cohort_id, w.b.cohort_id], "县督导")
    clock.advance(minutes=25)
    await web_client.post(f"/api/v1/alerts/{w.red_b}/acknowledge", headers=w.b.director_auth)
    async with httpx.AsyncClient(base_url=live_server) as api:
        numbers = (await api.get("/api/v1/reports/funnel",
                                 headers=bearer(county["credentials"]["api_token"]))).json()
    context, page = await _page(browser)
    try:
        await _sign_in(page, live_server, link_code(county))
        await page.click("nav >> text=报表")
        await page.wait_for_url(f"{live_server}/console/reports")
        total_row = page.locator("#funnel tfoot tr")
        assert (await total_row.locator("th").inner_text()) == "合计"
        assert await page.locator("figure.chart svg").count() == 3  # the charts rendered, inline SVG
        async with page.expect_download() as info:
            await page.click("[data-test=funnel-xlsx]")
        download = await info.value
        data = open(await download.path(), "rb").read()  # noqa: SIM115
    finally:
        await context.close()
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(data)).active.iter_rows()]
    assert [r[0] for r in rows[1:]] == ["东岭村", "西沟村", "合计"]
    keys = ["checkins_sent", "checkins_completed", "checkins_expired", "checkins_flagged", ("flagged", "red"),
            ("flagged", "orange"), ("flagged", "yellow"), "acknowledged", "referred", "resolved", "escalated",
            "median_minutes_to_acknowledge", "p90_minutes_to_acknowledge"]
    for row, report in zip(rows[1:], [*numbers["cohorts"], numbers]):
        assert row[1:3] == [numbers["from"], numbers["to"]]
        for cell, key in zip(row[3:], keys, strict=True):
            expected = report[key[0]][key[1]] if isinstance(key, tuple) else report[key]
            assert cell == expected, (row[0], key)
    assert rows[2][3 + keys.index("median_minutes_to_acknowledge")] == 25.0


async def test_director_of_a_cannot_open_cohort_b(console_world, live_server, browser):
    w = console_world
    context, page = await _page(browser, locale="en-US")
    try:
        await _sign_in(page, live_server, link_code(w.a.director))
        response = await page.goto(f"{live_server}/console/cohorts/{w.b.cohort_id}/households")
        assert response.status == 404
        assert await page.locator("h1").inner_text() == "This page was not found"
        response = await page.goto(f"{live_server}/console/households/{w.b.household['id']}")
        assert response.status == 404
    finally:
        await context.close()
