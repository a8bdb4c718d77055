"""Exports: the ledger, the funnel and the cases as CSV (UTF-8 with a BOM, for Excel in China) and
XLSX, with the county office's column names; the funnel's numbers equal the API's; exports are
audited. And the county funnel of the API itself: the sum of the cohorts' funnels."""
from __future__ import annotations

import csv
import io

from openpyxl import load_workbook
from sqlalchemy import select

from core.endpoints.service import add_endpoint
from core.models import AuditLog
from tests.api.helpers import bearer
from tests.web.console_world import browsers, console_world, link_code  # noqa: F401


async def _ack(web_client, clock, side, alert_id, minutes):  # noqa: ANN001
    clock.advance(minutes=minutes)
    response = await web_client.post(f"/api/v1/alerts/{alert_id}/acknowledge", headers=side.director_auth)
    assert response.status_code == 200


async def test_api_county_funnel_is_the_sum_of_the_cohorts(console_world, web_client, clock):
    w = console_world
    await _ack(web_client, clock, w.a, w.red_a, 10)
    await _ack(web_client, clock, w.b, w.red_b, 30)
    admin = bearer(w.admin["credentials"]["api_token"])
    total = (await web_client.get("/api/v1/reports/funnel", headers=admin)).json()
    one = [(await web_client.get(f"/api/v1/cohorts/{c}/reports/funnel", headers=admin)).json()
           for c in (w.a.cohort_id, w.b.cohort_id)]
    assert total["cohort_ids"] == [w.a.cohort_id, w.b.cohort_id]
    assert total["cohorts"] == one
    for field in ("checkins_sent", "checkins_completed", "acknowledged", "escalated"):
        assert total[field] == one[0][field] + one[1][field]
    assert total["flagged"]["red"] == 2
    # Over both alerts together (10 and 40 minutes): the nearest-rank median is the lower one.
    assert (total["median_minutes_to_acknowledge"], total["p90_minutes_to_acknowledge"]) == (10.0, 40.0)
    # A director's county is their own cohort; asking for another is 404.
    director = w.a.director_auth
    mine = (await web_client.get("/api/v1/reports/funnel", headers=director)).json()
    assert mine["cohort_ids"] == [w.a.cohort_id]
    refused = await web_client.get(f"/api/v1/reports/funnel?cohort_id={w.b.cohort_id}", headers=director)
    assert refused.status_code == 404


async def test_funnel_xlsx_and_csv_equal_the_api(console_world, web_client, browsers, clock, sessionmaker):
    w = console_world
    await _ack(web_client, clock, w.a, w.red_a, 12)
    api = (await web_client.get("/api/v1/reports/funnel?from=2026-11-01&to=2026-11-30",
                                headers=bearer(w.admin["credentials"]["api_token"]))).json()
    admin = await browsers(link_code(w.admin))
    response = await admin.get("/console/exports/funnel.xlsx?from=2026-11-01&to=2026-11-30")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/vnd.openxmlformats")
    assert "attachment" in response.headers["content-disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    assert rows[0][:5] == ["村（组别）", "从", "至", "发出问卷数", "已回答"]
    assert [r[0] for r in rows[1:]] == ["东岭村", "西沟村", "合计"]

    def expected(report):  # noqa: ANN001, ANN202
        return [report["checkins_sent"], report["checkins_completed"], report["checkins_expired"],
                report["checkins_flagged"], report["flagged"]["red"], report["flagged"]["orange"],
                report["flagged"]["yellow"], report["acknowledged"], report["referred"], report["resolved"],
                report["escalated"], report["median_minutes_to_acknowledge"], report["p90_minutes_to_acknowledge"]]

    for row, report in zip(rows[1:], [*api["cohorts"], api]):
        assert row[1:3] == ["2026-11-01", "2026-11-30"]
        assert row[3:] == expected(report)
    text = (await admin.get("/console/exports/funnel.csv?from=2026-11-01&to=2026-11-30")).content
    assert text.startswith(b"\xef\xbb\xbf")
    parsed = list(csv.reader(io.StringIO(text.decode("utf-8-sig"))))
    assert parsed[0][0] == "村（组别）" and parsed[-1][0] == "合计"
    assert parsed[-1][3:] == ["" if v is None else str(v) for v in expected(api)]
    async with sessionmaker() as session:
        audits = (await session.scalars(select(AuditLog).where(AuditLog.action == "export"))).all()
    assert [(a.entity, a.detail["format"]) for a in audits] == [("funnel", "xlsx"), ("funnel", "csv")]


async def test_ledger_and_cases_exports(console_world, browsers, sessionmaker, clock):
    w = console_world
    # The family is also reached by SMS: the channel column names both, in the order they are tried.
    async with sessionmaker() as session:
        await add_endpoint(session, address="sms:+8613900000001", guardian_id=w.a.household["guardian_id"],
                           now=clock())
        await session.commit()
    director = await browsers(link_code(w.a.director))
    response = await director.get(f"/console/exports/ledger.xlsx?cohort_id={w.a.cohort_id}")
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(response.content)).active.iter_rows()]
    assert rows[0] == ["村（组别）", "户编号", "联系人", "村民小组", "儿童", "年龄", "最近一次问卷", "结果", "在办个案",
                       "最近一次电话或走访", "能联系上", "联系渠道"]
    [line] = rows[1:]
    assert line[0:2] == ["东岭村", w.a.household["id"]] and line[4] == "Xiaoming" and line[7] == "红色"
    assert line[10] == "是" and line[11] == "Telegram、短信"
    en = await browsers(link_code(w.a.director), lang="en")
    csv_text = (await en.get(f"/console/exports/ledger.csv?cohort_id={w.a.cohort_id}")).content.decode("utf-8-sig")
    header = next(csv.reader(io.StringIO(csv_text)))
    assert header[:3] == ["Village or group", "Household no.", "Whom to call"]
    cases = (await director.get("/console/exports/cases.xlsx")).content
    rows = [[c.value for c in row] for row in load_workbook(io.BytesIO(cases)).active.iter_rows()]
    assert rows[0][:5] == ["个案编号", "村（组别）", "户编号", "联系人", "状态"]
    assert [r[1] for r in rows[1:]] == ["东岭村"]  # cohort B's case is not in A's export
    async with sessionmaker() as session:
        audits = (await session.scalars(select(AuditLog).where(AuditLog.action == "export")
                                        .order_by(AuditLog.id))).all()
    assert [(a.entity, a.staff_id) for a in audits] == [("ledger", w.a.director["id"])] * 2 + [
        ("cases", w.a.director["id"])]
