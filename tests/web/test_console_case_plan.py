"""The case plan's measures (一人一案): what will be done, the person responsible, by when —
stored through core.alerts.cases.add_measure with an audit row, errors next to the field in the
reader's language, another cohort's case not found."""
from __future__ import annotations

from datetime import date

from sqlalchemy import select

from core.models import Alert, AuditLog, CaseMeasure
from tests.web.console_world import browsers, console_world, link_code  # noqa: F401


async def _case_of(sessionmaker, alert_id: int) -> int:  # noqa: ANN001
    async with sessionmaker() as session:
        return (await session.get(Alert, alert_id)).case_id


async def test_measures_are_added_listed_by_due_date_and_audited(console_world, browsers, sessionmaker):
    w = console_world
    case_id = await _case_of(sessionmaker, w.red_a)
    director = await browsers(link_code(w.a.director))
    page = await director.get(f"/console/cases/{case_id}")
    assert "计划的措施" in page.text and "加入计划" in page.text
    later = {"text": "每周家访一次", "responsible": "王老师", "due_on": "2026-12-20"}
    sooner = {"text": "联系班主任", "responsible": "村医 李医生", "due_on": "2026-12-10"}
    assert (await director.post(f"/console/cases/{case_id}/measures", later)).status_code == 303
    assert (await director.post(f"/console/cases/{case_id}/measures", sooner)).status_code == 303
    assert (await director.post(f"/console/cases/{case_id}/measures",
                                {"text": "  看望  奶奶 ", "responsible": "主任"})).status_code == 303
    page = await director.get(f"/console/cases/{case_id}")
    assert page.text.index("联系班主任") < page.text.index("每周家访一次") < page.text.index("看望 奶奶")
    assert "负责人：王老师" in page.text and "在 2026-12-20 之前" in page.text
    async with sessionmaker() as session:
        rows = (await session.scalars(select(CaseMeasure).order_by(CaseMeasure.id))).all()
        assert [(r.text, r.responsible, r.due_on) for r in rows] == [
            ("每周家访一次", "王老师", date(2026, 12, 20)), ("联系班主任", "村医 李医生", date(2026, 12, 10)),
            ("看望 奶奶", "主任", None)]
        audits = (await session.scalars(select(AuditLog).where(AuditLog.entity == "case_measure"))).all()
        assert sorted(a.entity_id for a in audits) == [r.id for r in rows]
        assert {(a.staff_id, a.action, a.cohort_id) for a in audits} == {(w.a.director["id"], "create", w.a.cohort_id)}
    en = await browsers(link_code(w.a.director), lang="en")
    page = await en.get(f"/console/cases/{case_id}")
    assert "Planned measures" in page.text and "responsible: 王老师" in page.text


async def test_bad_measures_are_refused_next_to_the_field_in_both_languages(console_world, browsers, sessionmaker):
    w = console_world
    case_id = await _case_of(sessionmaker, w.red_a)
    zh = await browsers(link_code(w.a.director))
    empty = await zh.post(f"/console/cases/{case_id}/measures", {"text": " ", "responsible": "王老师"})
    assert empty.status_code == 422 and "请写下要做什么" in empty.text and 'value="王老师"' in empty.text
    en = await browsers(link_code(w.a.director), lang="en")
    nobody = await en.post(f"/console/cases/{case_id}/measures", {"text": "Visit", "responsible": ""})
    assert nobody.status_code == 422 and "Please name the person responsible" in nobody.text
    bad_day = await en.post(f"/console/cases/{case_id}/measures",
                            {"text": "Visit", "responsible": "Wang", "due_on": "2026-02-30"})
    assert bad_day.status_code == 422 and "for example 2026-12-31" in bad_day.text
    too_long = await en.post(f"/console/cases/{case_id}/measures", {"text": "x" * 501, "responsible": "Wang"})
    assert too_long.status_code == 422 and "at most 500 characters" in too_long.text
    # Another cohort's case: not found.
    other = await _case_of(sessionmaker, w.red_b)
    assert (await zh.post(f"/console/cases/{other}/measures",
                          {"text": "看望", "responsible": "王老师"})).status_code == 404
    async with sessionmaker() as session:
        assert (await session.scalars(select(CaseMeasure))).all() == []
