"""The web adapter's shell: both sub-applications answer under their prefixes, in the reader's
language, with HTML error pages and only local assets; and a real browser renders the entry page."""
from __future__ import annotations

import re

from tests.web.conftest import PHONE


async def test_entry_pages_and_static_assets(web_client):
    for path in ("/m/", "/console/"):
        # The console's entry asks a staff member to sign in first.
        page = await web_client.get(path, headers={"accept-language": "zh-CN,zh;q=0.9"}, follow_redirects=True)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert '<html lang="zh-Hans">' in page.text
        # Local assets only: no CDN, no external font.
        assert not re.search(r'(src|href)="(https?:)?//', page.text)
        css = await web_client.get(f"{path}static/site.css")
        assert css.status_code == 200 and "font" in css.text


async def test_language_from_query_then_cookie(web_client):
    page = await web_client.get("/m/?lang=en")
    assert '<html lang="en">' in page.text
    assert page.cookies.get("lang") == "en"
    again = await web_client.get("/m/")
    assert '<html lang="en">' in again.text


async def test_unknown_page_is_a_404_page_in_the_readers_language(web_client):
    zh = await web_client.get("/m/nowhere", headers={"accept-language": "zh-CN"})
    assert zh.status_code == 404 and "没有找到这个页面" in zh.text
    en = await web_client.get("/console/nowhere", headers={"accept-language": "en"})
    assert en.status_code == 404 and "This page was not found" in en.text


async def test_a_real_browser_renders_the_mobile_entry(live_server, phone):
    await phone.goto(f"{live_server}/m/")
    assert await phone.evaluate("window.innerWidth") == PHONE["width"]
    assert await phone.locator("h1").inner_text() == "守望"
