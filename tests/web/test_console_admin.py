"""Settings pages: staff and their phones (admins only), a cohort's invitations and the printable
A4 poster (the QR code as inline SVG, the programme's name, three plain lines in Chinese); the
household page's timeline shows the check-in against its cut-offs, the alert and the visit."""
from __future__ import annotations

import re

import segno

from sqlalchemy import select

from core.models import AuditLog, Staff
from tests.web.console_world import browsers, console_world, link_code  # noqa: F401


async def test_admin_sets_a_staff_phone_and_others_cannot(console_world, browsers, sessionmaker):
    w = console_world
    admin = await browsers(link_code(w.admin))
    page = await admin.get("/console/admin")
    assert "西沟村主任" in page.text and "东岭村" in page.text
    saved = await admin.post(f"/console/admin/staff/{w.a.director['id']}/phone",
                             {"phone": "139 1234 5678", "phone_visible": "on"})
    assert saved.status_code == 303
    bad = await admin.post(f"/console/admin/staff/{w.a.director['id']}/phone", {"phone": "12"})
    assert bad.status_code == 422
    async with sessionmaker() as session:
        staff = await session.get(Staff, w.a.director["id"])
        assert (staff.phone, staff.phone_visible) == ("+8613912345678", True)
        audit = await session.scalar(select(AuditLog).where(AuditLog.entity == "staff", AuditLog.action == "update",
                                                            AuditLog.staff_id == w.admin["id"]))
        assert audit is not None and "phone" in audit.detail["fields"]
    director = await browsers(link_code(w.a.director))
    refused = await director.post(f"/console/admin/staff/{w.a.director['id']}/phone", {"phone": "13900000000"})
    assert refused.status_code == 403


async def test_the_poster_is_a_printable_a4_page_in_chinese_with_the_qr_code(console_world, browsers):
    w = console_world
    director = await browsers(link_code(w.a.director), lang="en")
    created = await director.post(f"/console/cohorts/{w.a.cohort_id}/invitations", {"label": "村委会门口"})
    poster_path = created.headers["location"]
    page = await director.get(poster_path)
    assert page.status_code == 200 and '<html lang="zh-Hans">' in page.text
    assert "<svg" in page.text and 'class="a4"' in page.text
    assert "守望" in page.text and "东岭村" in page.text and "村委会门口" in page.text
    steps = re.findall(r"<li>([^<]+)</li>", page.text.split('class="steps"')[1])
    assert steps == ["用手机微信或相机扫一扫这个二维码。", "按页面提示，回答几个关于您家里的简单问题。",
                     "每周您会收到一条带孩子的小建议；有困难时，村里的儿童主任会来帮您。"]
    # The code opens the web enrolment page (Telegram is blocked where the families live), and the
    # page warns before printing a code that only works on this machine.
    code = re.search(r"输入邀请码 (\w+)。", page.text).group(1)
    assert "http://127.0.0.1:8000/m/join" in page.text and "SHOUWANG_PUBLIC_URL" in page.text
    svg = page.text.split('<div class="qr">')[1].split("</div>")[0]
    assert svg == str(segno.make(f"http://127.0.0.1:8000/m/join/{code}", error="m").svg_inline(
        scale=10, border=2, dark="#000", title=None))
    listing = await director.get(f"/console/cohorts/{w.a.cohort_id}/invitations")
    assert "村委会门口" in listing.text and poster_path.removeprefix("/console") in listing.text
    bad = await director.post(f"/console/cohorts/{w.a.cohort_id}/invitations", {"max_uses": "many"})
    assert bad.status_code == 422


async def test_household_timeline_shows_checkins_against_cutoffs_alerts_and_visits(console_world, browsers):
    w = console_world
    director = await browsers(link_code(w.a.director))
    await director.post(f"/console/alerts/{w.red_a}/contact", {"method": "visit", "note": "孩子在家，奶奶陪着"})
    page = await director.get(f"/console/households/{w.a.household['id']}")
    text = page.text
    assert "每周问候" in text and "已回答" in text
    assert "红色" in text and "上门走访" in text and "孩子在家，奶奶陪着" in text
    child = await director.get(f"/console/children/{w.a.child_id}")
    assert "Xiaoming" in child.text and "红色" in child.text


async def test_a_psc17_checkin_shows_its_scores_against_the_cutoffs(console_world, browsers, sessionmaker, clock):
    from tests.api.checkin_data import answer, mark_sent, open_round, psc17

    w = console_world
    [checkin] = await open_round(sessionmaker, clock, cohort_id=w.a.cohort_id, questionnaire_id="psc17",
                                 cycle="2026-Q4", child_ids=[w.a.child_id])
    await mark_sent(sessionmaker, clock, [checkin])
    await answer(sessionmaker, clock, checkin_id=checkin, guardian_id=w.a.household["guardian_id"],
                 answers=psc17(internalising=2))
    zh = await (await browsers(link_code(w.a.director))).get(f"/console/children/{w.a.child_id}")
    assert "内化（情绪）: 10" in zh.text and "超过界值： 筛查阳性" in zh.text
    assert "注意力: 0 · 未超过界值" in zh.text
    en = await (await browsers(link_code(w.a.director), lang="en")).get(f"/console/children/{w.a.child_id}")
    assert "Internalising: 10 · above the cut-off: Positive screen" in en.text


async def test_schedules_and_campaigns(console_world, browsers, sessionmaker):
    from core.models import Campaign, Delivery

    w = console_world
    director = await browsers(link_code(w.a.director))
    page = await director.get("/console/schedules")
    assert page.status_code == 200 and "东岭村" in page.text and "西沟村" not in page.text
    created = await director.post("/console/campaigns", {"title": "六一儿童节", "date": "2026-12-01", "time": "19:30",
                                                         "text_zh-Hans": "祝孩子们节日快乐！",
                                                         "text_en": "Happy Children's Day!"})
    assert created.status_code == 303
    bad = await director.post("/console/campaigns", {"title": "x", "date": "someday"})
    assert bad.status_code == 422
    empty = await director.post("/console/campaigns", {"title": "x", "date": "2026-12-01"})
    assert empty.status_code == 422
    listing = await director.get("/console/campaigns")
    assert "六一儿童节" in listing.text and "2026-12-01 19:30" in listing.text
    async with sessionmaker() as session:
        campaign = (await session.scalars(select(Campaign))).one()
        assert campaign.cohort_ids == [w.a.cohort_id]
    supervisor_b = await browsers(link_code(w.b.supervisor))
    assert "六一儿童节" not in (await supervisor_b.get("/console/campaigns")).text
    assert (await director.post(f"/console/campaigns/{campaign.id}/cancel")).status_code == 303
    async with sessionmaker() as session:
        assert (await session.get(Campaign, campaign.id)).state == "cancelled"
        assert (await session.scalars(select(Delivery).where(Delivery.kind == "campaign"))).all() == []


async def test_admin_adds_a_cohort_and_a_director_who_then_signs_in(console_world, browsers, sessionmaker):
    from core.models import Cohort

    w = console_world
    admin = await browsers(link_code(w.admin))
    assert (await admin.post("/console/admin/cohorts", {"name": "南山村", "region": "甘肃 陇南"})).status_code == 303
    assert (await admin.post("/console/admin/cohorts", {"name": ""})).status_code == 422
    async with sessionmaker() as session:
        cohort = await session.scalar(select(Cohort).where(Cohort.name == "南山村"))
    page = await admin.post("/console/admin/staff", {"display_name": "赵主任", "role": "director",
                                                     "cohort_id": str(cohort.id), "primary": "on"})
    assert page.status_code == 200 and "赵主任" in page.text
    code = re.search(r'data-test="link-code"><strong>([^<]+)</strong>', page.text).group(1)
    assert "t.me/shouwang_test_bot?start=" in page.text
    newcomer = await browsers(code)
    ledger = await newcomer.get("/console/households", follow_redirects=True)
    assert ledger.status_code == 200 and "南山村" in ledger.text
    assert (await newcomer.get(f"/console/cohorts/{w.a.cohort_id}/households")).status_code == 404
    director = await browsers(link_code(w.a.director))
    assert (await director.post("/console/admin/cohorts", {"name": "x"})).status_code == 403
    assert (await director.post("/console/admin/staff", {"display_name": "x", "role": "admin"})).status_code == 403
    bad = await admin.post("/console/admin/staff", {"display_name": "x", "role": "director"})  # no cohort
    assert bad.status_code == 422
