"""Every console page over HTTP, for every role and in both languages; another cohort's pages
are 404 for a director; the phone's actions work from the console through the same services
(acknowledging queues the edit of the Telegram cards); reading personal data is audited."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from core.models import Alert, AuditLog, Case, CaseEvent, Delivery, InboxItem, InboxMessage
from tests.web.console_world import (  # noqa: F401
    ConsoleWorld, browsers, console_world, drain_to_bot_double, inbox_item, link_code,
)

TITLES = {"zh-Hans": {"/": "今天", "ledger": "台账", "cases": "个案", "reports": "筛查情况"},
          "en": {"/": "Today", "ledger": "Ledger", "cases": "Cases", "reports": "Screening funnel"}}


async def _invitation(browser, cohort_id: int) -> int:
    created = await browser.post(f"/console/cohorts/{cohort_id}/invitations", {"label": "村委会门口", "max_uses": "50"})
    assert created.status_code == 303, created.text
    return int(re.search(r"/invitations/(\d+)/poster", created.headers["location"]).group(1))


def _pages(w: ConsoleWorld, case_id: int, invitation_id: int) -> list[str]:
    a = w.a
    return ["/console/", "/console/households", f"/console/cohorts/{a.cohort_id}/households",
            f"/console/cohorts/{a.cohort_id}/households?q=Xiao&band=red&open_case=yes&reachable=yes",
            f"/console/households/{a.household['id']}", f"/console/children/{a.child_id}", "/console/cases",
            "/console/cases?status=open", f"/console/cases/{case_id}", "/console/reports",
            f"/console/reports?from=2026-11-01&to=2026-11-30&cohort_id={a.cohort_id}", "/console/reports/checkins",
            "/console/reports/lessons", f"/console/cohorts/{a.cohort_id}/invitations",
            f"/console/invitations/{invitation_id}/poster", "/console/schedules", "/console/campaigns",
            f"/console/alerts/{w.red_a}"]


async def _case_of(sessionmaker, alert_id: int) -> int:
    async with sessionmaker() as session:
        return await session.scalar(select(Alert.case_id).where(Alert.id == alert_id))


@pytest.mark.parametrize("role", ["admin", "supervisor", "director"])
async def test_every_page_for_every_role_in_both_languages(console_world, browsers, sessionmaker, role):
    w = console_world
    staff = {"admin": w.admin, "supervisor": w.a.supervisor, "director": w.a.director}[role]
    case_id = await _case_of(sessionmaker, w.red_a)
    director = await browsers(link_code(w.a.director))
    invitation_id = await _invitation(director, w.a.cohort_id)
    for lang in ("zh-Hans", "en"):
        reader = await browsers(link_code(staff), lang=lang)
        for path in _pages(w, case_id, invitation_id):
            page = await reader.get(path, follow_redirects=True)
            assert page.status_code == 200, (role, lang, path, page.text[-2000:])
            # The poster is always in Chinese: the families read it.
            expected = "zh-Hans" if "/poster" in path else lang
            assert f'<html lang="{expected}">' in page.text, (path, lang)
            assert not re.search(r'(src|href)="(https?:)?//', page.text), path  # nothing from another host
        assert TITLES[lang]["/"] in (await reader.get("/console/")).text
        assert TITLES[lang]["reports"] in (await reader.get("/console/reports")).text
        ledger = await reader.get(f"/console/cohorts/{w.a.cohort_id}/households")
        assert TITLES[lang]["ledger"] in ledger.text and "Xiaoming" in ledger.text
        settings = await reader.get("/console/admin")
        assert settings.status_code == (200 if role == "admin" else 403)
    if role == "supervisor":  # supervisors read a cohort but do not invite families
        refused = await reader.post(f"/console/cohorts/{w.a.cohort_id}/invitations", {"label": "x"})
        assert refused.status_code == 403


async def test_a_director_of_cohort_a_gets_404_for_every_page_of_cohort_b(console_world, browsers, sessionmaker):
    w = console_world
    director_b = await browsers(link_code(w.b.director))
    invitation_b = await _invitation(director_b, w.b.cohort_id)
    case_b = await _case_of(sessionmaker, w.red_b)
    director_a = await browsers(link_code(w.a.director), lang="en")
    for path in (f"/console/cohorts/{w.b.cohort_id}/households", f"/console/households/{w.b.household['id']}",
                 f"/console/children/{w.b.child_id}", f"/console/cases/{case_b}", f"/console/alerts/{w.red_b}",
                 f"/console/cases?cohort_id={w.b.cohort_id}", f"/console/reports?cohort_id={w.b.cohort_id}",
                 f"/console/reports/lessons?cohort_id={w.b.cohort_id}",
                 f"/console/cohorts/{w.b.cohort_id}/invitations", f"/console/invitations/{invitation_b}/poster",
                 f"/console/exports/ledger.xlsx?cohort_id={w.b.cohort_id}",
                 f"/console/exports/funnel.csv?cohort_id={w.b.cohort_id}"):
        page = await director_a.get(path)
        assert page.status_code == 404, path
        assert "This page was not found" in page.text and "西沟村" not in page.text
    for action, data in (("acknowledge", {}), ("contact", {"method": "call"}), ("refer", {"to": "police"}),
                         ("resolve", {"outcome": "safe_now"})):
        assert (await director_a.post(f"/console/alerts/{w.red_b}/{action}", data)).status_code == 404
    assert (await director_a.post(f"/console/cases/{case_b}/note", {"note": "x"})).status_code == 404
    # Cohort A's Today and lists never show B's alert, case or household.
    today = await director_a.get("/console/")
    assert f"alert-{w.red_b}" not in today.text and f"alert-{w.red_a}" in today.text
    cases = await director_a.get("/console/cases")
    assert f"/cases/{case_b}\"" not in cases.text
    async with sessionmaker() as session:
        alert = await session.get(Alert, w.red_b)
        assert alert.status == "open"


async def test_acknowledge_from_the_console_queues_the_telegram_card_edits(
        console_world, browsers, sessionmaker, settings, clock, tmp_path):
    w = console_world
    await drain_to_bot_double(sessionmaker, settings, clock, tmp_path)  # the alert cards reach the directors
    director = await browsers(link_code(w.a.director))
    response = await director.post(f"/console/alerts/{w.red_a}/acknowledge", {"next": "/"})
    assert response.status_code == 303 and response.headers["location"] == "/console/?done=acknowledged"
    async with sessionmaker() as session:
        alert = await session.get(Alert, w.red_a)
        assert (alert.status, alert.acknowledged_by_staff_id) == ("acknowledged", w.a.director["id"])
        [edit] = (await session.scalars(select(Delivery).where(Delivery.kind == "alert_update"))).all()
        assert (edit.lane, edit.state, edit.payload["alert_id"]) == (0, "pending", w.red_a)
    page = await director.get("/console/?done=acknowledged")
    assert "已接收。手机上的提醒卡片也会跟着更新。" in page.text


async def test_contact_referral_and_resolve_from_today_write_case_events(console_world, browsers, sessionmaker):
    w = console_world
    director = await browsers(link_code(w.a.director))
    assert (await director.post(f"/console/alerts/{w.red_a}/contact",
                                {"method": "visit", "note": "上门看过，孩子在家", "next": "/"})).status_code == 303
    assert (await director.post(f"/console/alerts/{w.red_a}/refer",
                                {"to": "school_counsellor", "next": "/"})).status_code == 303
    bad = await director.post(f"/console/alerts/{w.red_a}/resolve", {"outcome": "nonsense"})
    assert bad.status_code == 422
    assert (await director.post(f"/console/alerts/{w.red_a}/resolve",
                                {"outcome": "safe_now", "next": "/"})).status_code == 303
    async with sessionmaker() as session:
        alert = await session.get(Alert, w.red_a)
        kinds = (await session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == alert.case_id)
                                       .order_by(CaseEvent.id))).all()
        case = await session.get(Case, alert.case_id)
    assert alert.status == "resolved" and case.status == "closed"
    assert ["acknowledged", "contact", "referral", "resolved", "closed"] == [k for k in kinds if k in (
        "acknowledged", "contact", "referral", "resolved", "closed")]
    page = await director.get(f"/console/cases/{alert.case_id}")
    assert "上门看过，孩子在家" in page.text and "学校" in page.text and "东岭村主任" in page.text


async def test_case_page_actions_note_close_reopen(console_world, browsers, sessionmaker):
    w = console_world
    case_id = await _case_of(sessionmaker, w.red_a)
    supervisor = await browsers(link_code(w.a.supervisor), lang="en")
    empty = await supervisor.post(f"/console/cases/{case_id}/note", {"note": "   "})
    assert empty.status_code == 422
    assert (await supervisor.post(f"/console/cases/{case_id}/note", {"note": "Spoke with the school."})).status_code == 303
    assert (await supervisor.post(f"/console/cases/{case_id}/close", {"outcome": "family_supported"})).status_code == 303
    page = await supervisor.get(f"/console/cases/{case_id}?done=closed")
    assert "The case is closed" in page.text and "Spoke with the school." in page.text
    assert "@media print" in (await supervisor.get("/console/static/site.css")).text
    assert (await supervisor.post(f"/console/cases/{case_id}/reopen")).status_code == 303
    async with sessionmaker() as session:
        assert (await session.get(Case, case_id)).status == "open"


async def test_reply_to_an_inbox_item_from_the_console(console_world, browsers, sessionmaker, clock):
    w = console_world
    item_id = await inbox_item(sessionmaker, clock, w.a.household["guardian_id"], "孩子这几天不爱吃饭，怎么办？")
    director = await browsers(link_code(w.a.director))
    today = await director.get("/console/")
    assert f"/console/inbox/{item_id}" in today.text
    page = await director.get(f"/console/inbox/{item_id}")
    assert "孩子这几天不爱吃饭" in page.text
    assert (await director.post(f"/console/inbox/{item_id}/reply", {"text": ""})).status_code == 422
    sent = await director.post(f"/console/inbox/{item_id}/reply", {"text": "明天我来家里看看。"})
    assert sent.status_code == 303
    assert (await director.post(f"/console/inbox/{item_id}/done", {"next": "/"})).status_code == 303
    async with sessionmaker() as session:
        out = (await session.scalars(select(InboxMessage).where(InboxMessage.item_id == item_id,
                                                                InboxMessage.direction == "out"))).one()
        assert out.text == "明天我来家里看看。"
        assert (await session.get(InboxItem, item_id)).state == "done"
        relay = await session.scalar(select(func.count()).select_from(Delivery).where(Delivery.kind == "inbox_relay"))
        assert relay == 1
    director_b = await browsers(link_code(w.b.director))
    assert (await director_b.get(f"/console/inbox/{item_id}")).status_code == 404


async def test_pages_with_personal_data_write_the_audit_row(console_world, browsers, sessionmaker):
    w = console_world
    director = await browsers(link_code(w.a.director))
    case_id = await _case_of(sessionmaker, w.red_a)
    for path, entity in ((f"/console/households/{w.a.household['id']}", "household"),
                         (f"/console/children/{w.a.child_id}", "child"), (f"/console/cases/{case_id}", "case"),
                         (f"/console/cohorts/{w.a.cohort_id}/households", "household"), ("/console/", "alert")):
        async with sessionmaker() as session:
            before = await session.scalar(select(func.count()).select_from(AuditLog).where(
                AuditLog.entity == entity, AuditLog.action == "read", AuditLog.staff_id == w.a.director["id"]))
        assert (await director.get(path)).status_code == 200
        async with sessionmaker() as session:
            after = await session.scalar(select(func.count()).select_from(AuditLog).where(
                AuditLog.entity == entity, AuditLog.action == "read", AuditLog.staff_id == w.a.director["id"]))
        assert after == before + 1, path


async def test_ledger_filters(console_world, browsers):
    w = console_world
    director = await browsers(link_code(w.a.director))
    url = f"/console/cohorts/{w.a.cohort_id}/households"
    assert "Xiaoming" in (await director.get(f"{url}?band=red")).text
    assert "Xiaoming" not in (await director.get(f"{url}?band=ok")).text
    assert "Xiaoming" in (await director.get(f"{url}?open_case=yes&reachable=yes&q=xiao")).text
    assert "Xiaoming" not in (await director.get(f"{url}?open_case=no")).text
    assert "Xiaoming" not in (await director.get(f"{url}?q=nobody")).text


async def test_bad_report_input_is_a_clear_error(console_world, browsers):
    director = await browsers(link_code(console_world.a.director), lang="en")
    for path in ("/console/reports?from=yesterday", "/console/reports?from=2026-11-30&to=2026-11-01",
                 "/console/reports?cohort_id=abc", "/console/reports/checkins?weeks=99",
                 "/console/exports/funnel.pdf", "/console/exports/ledger.xlsx"):
        page = await director.get(path)
        assert page.status_code == 422, path
        assert "This did not work" in page.text


async def test_the_alert_page_shows_what_fired_it(console_world, browsers):
    w = console_world
    director = await browsers(link_code(w.a.director))
    page = await director.get(f"/console/alerts/{w.red_a}")
    assert page.status_code == 200
    assert "每周问候" in page.text and "奶奶" in page.text  # the questionnaire and who answered
    acted = await director.post(f"/console/alerts/{w.red_a}/acknowledge", {"next": f"/alerts/{w.red_a}"})
    assert acted.headers["location"] == f"/console/alerts/{w.red_a}?done=acknowledged"
    assert "东岭村主任" in (await director.get(acted.headers["location"])).text


async def test_malformed_ids_are_a_clear_error_page(console_world, browsers):
    director = await browsers(link_code(console_world.a.director), lang="en")
    for path in ("/console/cases/abc", "/console/cases/0", "/console/households/99999999999",
                 "/console/alerts/-1"):
        page = await director.get(path)
        assert page.status_code == 422, path
        assert "This did not work" in page.text
    assert (await director.get("/console/cases/2147483647")).status_code == 404


async def test_the_ledger_is_shown_a_page_at_a_time(console_world, browsers, sessionmaker, clock, monkeypatch):
    from tests.api.helpers import add_household
    from web.console import ledger

    w = console_world
    await add_household(sessionmaker, clock, w.a.cohort_id, children=(("Xiaohong", 2017, 5),))
    monkeypatch.setattr(ledger, "PAGE_SIZE", 1)
    director = await browsers(link_code(w.a.director), lang="en")
    url = f"/console/cohorts/{w.a.cohort_id}/households"
    first = await director.get(url)
    assert "Xiaoming" in first.text and "Xiaohong" not in first.text and "Page 1 of 2" in first.text
    second = await director.get(f"{url}?page=2")
    assert "Xiaohong" in second.text and "Xiaoming" not in second.text
    filtered = await director.get(f"{url}?q=xiaohong&page=9")  # a page past the end shows the last
    assert "Xiaohong" in filtered.text and "Page" not in filtered.text
