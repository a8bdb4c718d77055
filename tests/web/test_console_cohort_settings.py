"""A cohort's settings in the console: lesson days/time and the check-in calendar (admins, and
directors within the safety floor), the cohort's name, time zone, language and digest time
(admins) — through the API's core services, audited, errors next to the field in the reader's
language, and another cohort's page a 404."""
from __future__ import annotations

from sqlalchemy import select

from core.models import AuditLog, Cohort
from tests.web.console_world import browsers, console_world, link_code  # noqa: F401


async def _cohort(sessionmaker, cohort_id: int) -> Cohort:  # noqa: ANN001
    async with sessionmaker() as session:
        return await session.get(Cohort, cohort_id)


async def _audits(sessionmaker, staff_id: int) -> list[AuditLog]:  # noqa: ANN001
    async with sessionmaker() as session:
        return list((await session.scalars(select(AuditLog).where(
            AuditLog.entity == "cohort", AuditLog.action == "update", AuditLog.staff_id == staff_id))).all())


async def test_a_director_changes_lesson_days_and_time_audited_with_errors_by_the_field(
        console_world, browsers, sessionmaker):
    w = console_world
    director = await browsers(link_code(w.a.director))
    page = await director.get(f"/console/cohorts/{w.a.cohort_id}/settings")
    assert page.status_code == 200 and "保存课程安排" in page.text
    saved = await director.post(f"/console/cohorts/{w.a.cohort_id}/lessons", {"day": "wed", "time": "20:15"})
    assert saved.status_code == 303
    # Two days: httpx sends a list as repeated fields.
    saved = await director.post(f"/console/cohorts/{w.a.cohort_id}/lessons", {"day": ["sat", "mon"], "time": "20:15"})
    assert saved.status_code == 303
    assert (await _cohort(sessionmaker, w.a.cohort_id)).lesson_schedule == {"days": ["mon", "sat"], "time": "20:15"}
    assert any("lesson_schedule" in a.detail["fields"] for a in await _audits(sessionmaker, w.a.director["id"]))
    zh = await director.post(f"/console/cohorts/{w.a.cohort_id}/lessons", {"day": "mon", "time": "25:99"})
    assert zh.status_code == 422 and "请按小时和分钟填写时间" in zh.text and 'value="25:99"' in zh.text
    en_reader = await browsers(link_code(w.a.director), lang="en")
    en = await en_reader.post(f"/console/cohorts/{w.a.cohort_id}/lessons", {"time": "19:00"})
    assert en.status_code == 422 and "Tick at least one day." in en.text
    assert (await _cohort(sessionmaker, w.a.cohort_id)).lesson_schedule["time"] == "20:15"
    # Another cohort's settings: not found, to read or to change.
    assert (await director.get(f"/console/cohorts/{w.b.cohort_id}/settings")).status_code == 404
    assert (await director.post(f"/console/cohorts/{w.b.cohort_id}/lessons",
                                {"day": "mon", "time": "19:00"})).status_code == 404


async def test_check_in_calendar_directors_may_tighten_but_not_loosen_past_the_floor(
        console_world, browsers, sessionmaker):
    w = console_world
    before = (await _cohort(sessionmaker, w.a.cohort_id)).checkin_schedule
    assert before, "the world's cohort has a check-in calendar"
    director = await browsers(link_code(w.a.director), lang="en")
    # Only a quarterly questionnaire left: beyond the floor (at least monthly), shown by the row.
    rows = {f"q.{q}.every": "" for q in before}
    first = sorted(before)[0]
    loose = {**rows, f"q.{first}.every": "quarter", f"q.{first}.day": "sat", f"q.{first}.week": "2",
             f"q.{first}.time": "10:00", f"q.{first}.expires": "3"}
    refused = await director.post(f"/console/cohorts/{w.a.cohort_id}/checkins", loose)
    assert refused.status_code == 422 and "safety floor" in refused.text
    zh = await browsers(link_code(w.a.director))
    refused_zh = await zh.post(f"/console/cohorts/{w.a.cohort_id}/checkins", rows)  # stopping every check-in
    assert refused_zh.status_code == 422 and "安全底线" in refused_zh.text
    bad_time = await director.post(f"/console/cohorts/{w.a.cohort_id}/checkins",
                                   {**loose, f"q.{first}.every": "week", f"q.{first}.time": "7pm"})
    assert bad_time.status_code == 422 and "for example 19:30" in bad_time.text
    assert (await _cohort(sessionmaker, w.a.cohort_id)).checkin_schedule == before
    # Weekly: tighter than the floor, allowed and audited.
    weekly = {**rows, f"q.{first}.every": "week", f"q.{first}.day": "sun", f"q.{first}.time": "09:30",
              f"q.{first}.expires": "2"}
    assert (await director.post(f"/console/cohorts/{w.a.cohort_id}/checkins", weekly)).status_code == 303
    after = (await _cohort(sessionmaker, w.a.cohort_id)).checkin_schedule
    assert after == {first: {"every": "week", "day": "sun", "time": "09:30", "expires_after_days": 2}}
    assert any(a.detail["fields"] == ["checkin_schedule"] for a in await _audits(sessionmaker, w.a.director["id"]))
    # A supervisor reads, without the forms.
    supervisor = await browsers(link_code(w.a.supervisor))
    page = await supervisor.get(f"/console/cohorts/{w.a.cohort_id}/settings")
    assert page.status_code == 200 and "保存签到安排" not in page.text
    assert (await supervisor.post(f"/console/cohorts/{w.a.cohort_id}/checkins", weekly)).status_code == 403


async def test_admins_edit_the_cohort_with_canonical_time_zones_only(console_world, browsers, sessionmaker):
    w = console_world
    admin = await browsers(link_code(w.admin), lang="en")
    ok = {"name": "东岭村一组", "timezone": "Asia/Urumqi", "default_locale": "en", "inbox_digest": "17:45"}
    assert (await admin.post(f"/console/cohorts/{w.a.cohort_id}/edit", ok)).status_code == 303
    cohort = await _cohort(sessionmaker, w.a.cohort_id)
    assert (cohort.name, cohort.timezone, cohort.default_locale, cohort.inbox_digest) == \
        ("东岭村一组", "Asia/Urumqi", "en", "17:45")
    assert any(set(a.detail["fields"]) >= {"name", "timezone"} for a in await _audits(sessionmaker, w.admin["id"]))
    # An alias (not canonical) and a made-up zone: refused next to the field, both languages.
    en = await admin.post(f"/console/cohorts/{w.a.cohort_id}/edit", {**ok, "timezone": "PRC"})
    assert en.status_code == 422 and "Use a time zone name such as Asia/Shanghai." in en.text
    zh_admin = await browsers(link_code(w.admin))
    zh = await zh_admin.post(f"/console/cohorts/{w.a.cohort_id}/edit", {**ok, "timezone": "Mars/Base"})
    assert zh.status_code == 422 and "Asia/Shanghai" in zh.text and "时区" in zh.text
    blank = await admin.post(f"/console/cohorts/{w.a.cohort_id}/edit", {**ok, "name": "  "})
    assert blank.status_code == 422 and "Please give the cohort a name" in blank.text
    assert (await _cohort(sessionmaker, w.a.cohort_id)).timezone == "Asia/Urumqi"
    director = await browsers(link_code(w.a.director))
    assert "东岭村一组" in (await director.get(f"/console/cohorts/{w.a.cohort_id}/settings")).text
    assert (await director.post(f"/console/cohorts/{w.a.cohort_id}/edit", ok)).status_code == 403
