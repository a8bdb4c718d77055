"""One alert order: the director's /alerts (core.alerts.queries.open_alerts) and the API's list
(core.alerts.service.list_alerts) come from the same query, so they agree — most severe first,
then the one waiting longest; resolved alerts are in neither."""
from __future__ import annotations


from sqlalchemy.ext.asyncio import AsyncSession

from core.access import Scope
from core.alerts.queries import open_alerts
from core.alerts.raising import AlertSubject, raise_alert
from core.alerts.service import list_alerts
from core.clock import FrozenClock
from core.models import Staff
from core.models.enums import StaffRole
from tests.core.checkin_fixtures import seed_village


async def test_the_phone_and_the_api_list_alerts_in_the_same_order(session: AsyncSession, clock: FrozenClock) -> None:
    v = await seed_village(session, now=clock())
    raised = {}
    # Opened in this order, a minute apart: a yellow, a red, another yellow, an orange, a red.
    for n, severity in enumerate(("yellow", "red", "yellow", "orange", "red")):
        result = await raise_alert(
            session, subject=AlertSubject(f"child:{2000 + n}", v.cohort.id, v.home_a.id), source="weekly_checkin",
            source_version=2, rule_id=f"rule_{n}", severity=severity, audience="child", reason="r",
            evidence={"answers": {}}, seen=("check_in_ids", n), check_in_id=None, now=clock())
        raised[n] = result.alert
        clock.advance(minutes=1)
    raised[4].status = "resolved"  # the newest red is done: in neither list
    raised[0].status = "acknowledged"  # acknowledged is still open work
    await session.flush()

    reader = Staff(display_name="管理员", role="admin", token_hash="y" * 64, locale="zh-Hans", active=True,
                   is_bootstrap=False, created_at=clock())
    session.add(reader)
    await session.flush()
    admin = Scope(staff_id=reader.id, role=StaffRole.admin, cohort_ids=None)
    director = Scope(staff_id=reader.id, role=StaffRole.director, cohort_ids=frozenset({v.cohort.id}))
    expected = [raised[1].id, raised[3].id, raised[0].id, raised[2].id]  # red, orange, then the yellows oldest first
    for scope in (admin, director):
        phone = [line.alert.id for line in await open_alerts(session, scope=scope, now=clock())]
        api = [a.id for a in await list_alerts(session, scope=scope, now=clock())]
        assert phone == api == expected
    other = Scope(staff_id=reader.id, role=StaffRole.director, cohort_ids=frozenset({v.cohort.id + 100}))
    assert await open_alerts(session, scope=other, now=clock()) == []
