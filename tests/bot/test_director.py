"""The child director on the phone, through the production dispatcher: an alert card for every
director of the cohort, each button (acknowledge, log a contact, refer, resolve) with its note,
the second director seeing the first one's acknowledgement, /alerts, /case, /roster, /visits,
and the escalation ladder, reminders, retries and follow-up, with an injected clock."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

import pytest
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import EditMessageText
from sqlalchemy import update

from core.models import Endpoint, Alert, Case, CaseEvent, CheckIn, Cohort, Delivery, Staff
from core.models.enums import StaffRole
from core.staff.schemas import StaffCreate
from core.staff.service import create_staff
from core.tick import run_tick
from harness import Person, answered, text_of

SUNDAY_1905 = datetime(2026, 11, 29, 11, 5, tzinfo=timezone.utc)

WORDS = {
    "zh-Hans": {
        "red": "🔴 红色警报", "yellow": "🟡 黄色警报", "case1": "个案 #1",
        "who": "小明（8岁）\n王奶奶 · 13812345678 · 三组 村口小卖部旁 (家庭 #1)", "answered_by": "回答的人：奶奶 / 外婆（和孩子住在一起）",
        "answer": "• 最近，小明有没有说过想伤害自己、不想活了？或者，有没有人伤害过小明？ — <b>有：有人伤害过孩子</b>",
        "not_acked": "⏳ 还没有人确认", "acked_by": "✅ 王主任已于11-29 19:06确认",
        "buttons": ["✅ 确认收到", "📞 记录联系", "➡️ 转介", "✔️ 处理完"],
        "ack_toast": "已确认。谢谢您。", "already": "王主任已于11-29 19:06确认过了。",
        "how": "您是怎么联系这家人的？", "visit": "🏠 上门家访", "call": "📞 打电话",
        "note_prompt": "请简单写几句：看到了什么情况，商量好了什么。也可以点“不写备注”。",
        "skip": "不写备注", "cancel": "取消", "saved_visit": "已保存：🏠 上门家访。个案 #1。",
        "school": "学校心理老师", "police": "公安机关（强制报告）", "saved_school": "已保存：转介到学校心理老师。个案 #1。",
        "mandated": "这里的记录不能代替您作为强制报告责任人必须做的报案。",
        "safe": "孩子现在安全", "resolved": "已处理完。个案 #1 已结束。12-13会给这家人发随访问卷，结果会告诉您。",
        "resolved_by": "✔️ 王主任已处理完：孩子现在安全", "nothing_saved": "好的，什么都没有保存。",
        "no_alerts": "现在没有未处理的警报。谢谢您的守护。", "escalated": "⚠️ 已上报：这条警报在规定时间内没有人确认",
        "reminder": "⏰ 提醒：这条警报还没有人确认。如果20:06前还没人确认，就会上报给督导员。",
        "no_case": "您负责的范围里没有个案 #99。",
    },
    "en": {
        "red": "🔴 Red alert", "yellow": "🟡 Yellow alert", "case1": "case #1",
        "who": "小明 (8 years old)\n王奶奶 · 13812345678 · 三组 村口小卖部旁 (household #1)", "answered_by": "Answered by: Grandmother (lives with the child)",
        "answer": "• Lately, has 小明 talked about hurting themselves or not wanting to live? Or has anyone hurt 小明? "
                  "— <b>Yes – someone hurt them</b>",
        "not_acked": "⏳ Not acknowledged yet", "acked_by": "✅ Acknowledged by 王主任 at 11-29 19:06",
        "buttons": ["✅ Acknowledge", "📞 Log a contact", "➡️ Refer", "✔️ Resolve"],
        "ack_toast": "Acknowledged. Thank you.", "already": "Already acknowledged by 王主任 at 11-29 19:06.",
        "how": "How did you get in touch with the family?", "visit": "🏠 Home visit", "call": "📞 Phone call",
        "note_prompt": "Type a short note: what you found and what was agreed. Or tap “Skip the note”.",
        "skip": "Skip the note", "cancel": "Cancel", "saved_visit": "Saved: 🏠 Home visit. Case #1.",
        "school": "School counsellor", "police": "Police (mandatory report)",
        "saved_school": "Saved: referral to School counsellor. Case #1.",
        "mandated": "This record does not replace the report you must make as a mandated reporter.",
        "safe": "The child is safe now",
        "resolved": "Resolved. Case #1 is closed. A follow-up check-in goes to the family on 12-13; "
                    "you will see the result.",
        "resolved_by": "✔️ Resolved by 王主任: The child is safe now", "nothing_saved": "All right, nothing was saved.",
        "no_alerts": "No open alerts. Thank you for keeping watch.",
        "escalated": "⚠️ Escalated: nobody acknowledged this alert in time",
        "reminder": "⏰ Reminder: this alert has not been acknowledged yet. If nobody acknowledges it by 20:06, "
                    "it goes to the supervisor.",
        "no_case": "There is no case #99 in your groups.",
    },
}
LOCALES = ["zh-Hans", "en"]


@dataclass
class Team:
    wang: Person  # the primary director
    li: Person  # a second director of the same cohort
    supervisor: Person
    admin: Person


@pytest.fixture
def team_factory(world, person, sessionmaker, clock):  # type: ignore[no-untyped-def]
    async def make(locale: str = "zh-Hans", *, link: tuple[str, ...] = ("wang", "li", "supervisor", "admin")) -> Team:
        codes: dict[str, str] = {"wang": world.director_link_code}
        async with sessionmaker() as session, session.begin():
            await session.execute(update(Staff).values(locale=locale))
            for key, name, role in (("li", "李主任", StaffRole.director), ("supervisor", "赵督导", StaffRole.supervisor)):
                issued = await create_staff(session, data=StaffCreate(
                    display_name=name, role=role, cohort_ids=[world.cohort_id], locale=locale),
                    actor_id=None, now=clock(), link_days=7)
                codes[key] = issued.link_code or ""
            admin = await session.get(Staff, world.admin_id)
            from core.staff.service import issue_link_code
            issued = await issue_link_code(session, staff_id=admin.id, actor_id=admin.id, now=clock(), link_days=7)
            codes["admin"] = issued.link_code or ""
        people = {}
        for key in ("wang", "li", "supervisor", "admin"):
            who = person("en" if locale == "en" else "zh-hans")
            if key in link:
                await who.send(f"/start {codes[key]}")
            people[key] = who
        return Team(**people)

    return make


@pytest.fixture
def tick(sessionmaker, clock, sender, settings):  # type: ignore[no-untyped-def]
    """The whole scheduler tick at the clock's time, then the outbox sender until nothing is due."""

    async def run() -> None:
        await run_tick(sessionmaker, settings=settings, clock=clock)
        while (stats := await sender.drain_once()).claimed:
            if stats.deferred:
                clock.advance(seconds=1)

    return run


async def answered_weekly(enrol, clock, tick, values: tuple[int, ...], *, locale: str = "zh-Hans") -> Person:  # type: ignore[no-untyped-def]
    """A grandmother gets Sunday's weekly check-in and answers it; the last answer a minute later."""
    grandma = await enrol(locale=locale)
    clock.set(SUNDAY_1905)
    await tick()
    for value in values[:-1]:
        await grandma.answer(value)
    clock.advance(minutes=1)
    await grandma.answer(values[-1])
    return grandma


async def red_alert(enrol, clock, tick, *, locale: str = "zh-Hans") -> Person:  # type: ignore[no-untyped-def]
    """The last answer says someone hurt the child; the alert goes out."""
    grandma = await answered_weekly(enrol, clock, tick, (0, 0, 0, 0, 0, 2), locale=locale)
    await tick()
    return grandma


def card_of(who: Person) -> str:
    """The newest alert card shown in this chat (sent, or updated by an edit)."""
    cards = [m for m in who.shown() if (m.text or "").startswith(("<b>🔴", "<b>🟠", "<b>🟡", "⚠️", "⏰"))]
    assert cards, "no alert card in this chat"
    return cards[-1].text


# ------------------------------------------------------------------ the card and its buttons


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_new_alert_reaches_every_director_with_what_fired_it(team_factory, enrol, clock, tick, db, locale):
    words = WORDS[locale]
    team = await team_factory(locale)
    await red_alert(enrol, clock, tick)
    for director in (team.wang, team.li):
        text = director.last_shown().text
        assert text.startswith(f"<b>{words['red']}</b> · {words['case1']}\n{words['who']}\n{words['answered_by']}")
        assert words["answer"] in text and words["not_acked"] in text
        assert "110" in text  # the mandatory-reporting reminder of this rule's reason
        assert [t for t, _ in director.current_buttons()] == words["buttons"]
    # Not the supervisor or the admin: they hear only if nobody acknowledges.
    assert not any("al1:" in d for _, d in team.supervisor.current_buttons())
    [alert] = await db.all(Alert)
    notices = await db.all(Delivery, Delivery.kind == "alert")
    assert {(d.lane, d.state, d.cycle) for d in notices} == {(0, "sent", "0")} and len(notices) == 2
    assert alert.escalate_at == alert.created_at + timedelta(hours=1)


@pytest.mark.parametrize("locale", LOCALES)
async def test_acknowledge_and_the_second_director_sees_it(team_factory, enrol, clock, tick, db, locale):
    words = WORDS[locale]
    team = await team_factory(locale)
    await red_alert(enrol, clock, tick)
    sent = await team.wang.tap(words["buttons"][0])
    assert answered(sent)[0].text == words["ack_toast"]
    # Both cards now say who acknowledged, and lose the acknowledge button.
    for director in (team.wang, team.li):
        assert words["acked_by"] in director.last_shown().text
        assert [t for t, _ in director.current_buttons()] == words["buttons"][1:]
    [alert] = await db.all(Alert)
    assert (alert.status, alert.escalate_at, alert.remind_at) == ("acknowledged", None, None)
    # Li taps his stale copy: told, not double-counted.
    sent = await team.li.tap(words["buttons"][0], even_removed=True)
    assert answered(sent)[0].text == words["already"]
    assert await db.count(CaseEvent, CaseEvent.kind == "acknowledged") == 1


@pytest.mark.parametrize("locale", LOCALES)
async def test_log_a_home_visit_with_a_note_refer_and_resolve(team_factory, enrol, clock, tick, db, locale):
    words = WORDS[locale]
    team = await team_factory(locale)
    await red_alert(enrol, clock, tick)
    wang = team.wang

    await wang.tap(words["buttons"][1])
    assert wang.last().text == words["how"]
    await wang.tap(words["visit"])
    assert wang.last().text.endswith(words["note_prompt"])
    sent = await wang.send("奶奶说是邻居家的大孩子推了他，已经和对方家长说了")
    assert text_of(sent) == words["saved_visit"]
    [visit] = await db.all(CaseEvent, CaseEvent.kind == "contact")
    assert (visit.detail, visit.note, visit.case_id) == ({"method": "visit"}, "奶奶说是邻居家的大孩子推了他，已经和对方家长说了", 1)
    [alert] = await db.all(Alert)
    assert alert.status == "acknowledged"  # acting is acknowledging

    await wang.tap(words["buttons"][2])
    await wang.tap(words["police"])
    assert words["mandated"] in wang.last().text
    sent = await wang.tap(words["cancel"])
    assert text_of(sent) == words["nothing_saved"]
    await wang.tap(words["buttons"][2], even_removed=True)
    await wang.tap(words["school"])
    sent = await wang.tap(words["skip"])
    assert text_of(sent) == words["saved_school"]
    [referral] = await db.all(CaseEvent, CaseEvent.kind == "referral")
    assert (referral.detail, referral.note) == ({"to": "school_counsellor"}, None)

    await wang.tap(words["buttons"][3])
    await wang.tap(words["safe"])
    sent = await wang.send("孩子安全，大孩子家长道歉了")
    assert text_of(sent) == words["resolved"]
    [alert] = await db.all(Alert)
    [case] = await db.all(Case)
    assert (alert.status, alert.outcome, case.status, case.outcome) == ("resolved", "safe_now", "closed", "safe_now")
    for director in (team.wang, team.li):
        assert words["resolved_by"] in card_of(director)
    # The follow-up check-in (随访) is scheduled in 14 days, about the same child.
    [followup] = await db.all(CheckIn, CheckIn.case_id == case.id)
    assert followup.due_at == clock() + timedelta(days=14) and followup.child_id == alert.child_id
    kinds = [e.kind for e in await db.all(CaseEvent, CaseEvent.case_id == case.id)]
    assert kinds == ["alert", "acknowledged", "contact", "referral", "resolved", "closed", "followup_scheduled"]


async def test_the_follow_up_result_reaches_the_directors(team_factory, enrol, clock, tick, db):
    team = await team_factory("en")
    grandma = await red_alert(enrol, clock, tick)
    for tap in ("✔️ Resolve", "The child is safe now", "Skip the note"):
        await team.wang.tap(tap)
    clock.advance(days=14, minutes=1)
    await tick()
    # The follow-up questions went out (beside the lesson's "did you try it?" that was due too).
    assert any("<b>1/6</b>" in (m.text or "") for m in grandma.shown()[-2:])
    for _ in range(6):
        await grandma.answer(0)
    await tick()
    assert team.wang.last().text == "Follow-up for case #1: 小明's answers raised no concern."
    assert team.li.last().text == team.wang.last().text
    [event] = await db.all(CaseEvent, CaseEvent.kind == "followup_result")
    assert event.detail["state"] == "completed" and event.detail["severity"] is None


# ------------------------------------------------------------------ commands


@pytest.mark.parametrize("locale", LOCALES)
async def test_alerts_case_roster_and_visits(team_factory, enrol, person, clock, tick, db, locale):
    words = WORDS[locale]
    team = await team_factory(locale)
    assert words["no_alerts"] in text_of(await team.wang.send("/alerts"))
    await red_alert(enrol, clock, tick)
    # A second family: a yellow alert (the child was often unhappy).
    other = await enrol(person(), locale="zh-Hans", children=(("小红", 2016, 1, "girl"),))
    clock.set(SUNDAY_1905 + timedelta(days=7))
    await tick()
    for value in (2, 0, 0, 0, 0, 0):
        await other.answer(value)
    await tick()

    sent = await team.li.send("/alerts")
    listing = text_of(sent)
    red_at, yellow_at = listing.index("🔴"), listing.index("🟡")
    assert red_at < yellow_at  # most severe first
    assert len(team.li.current_buttons()) == 2
    await team.li.tap(team.li.current_buttons()[1][0])  # open the yellow one's card
    assert words["yellow"] in team.li.last().text

    history = text_of(await team.wang.send("/case 1"))
    assert "#1</b>" in history and "小明" in history
    assert words["no_case"] == text_of(await team.wang.send("/case 99"))
    assert "/case 12" in text_of(await team.wang.send("/case"))

    roster = text_of(await team.wang.send("/roster"))
    assert "#1" in roster and "#2" in roster and "小明" in roster and "小红" in roster
    visits = text_of(await team.wang.send("/visits"))
    assert "#1" in visits and "#2" in visits  # nobody has been visited yet
    await team.wang.tap(team.wang.current_buttons()[0][0])  # log a visit for the first household
    await team.wang.tap(words["call"])
    await team.wang.send("电话里说一切都好")
    [call] = await db.all(CaseEvent, CaseEvent.kind == "contact")
    assert (call.detail["method"], call.case_id is None or call.case_id == 1) == ("call", True)
    visits = text_of(await team.wang.send("/visits"))
    assert ("#1" in visits) != ("#2" in visits)  # one of them has just been called


async def test_a_director_sees_only_their_own_cohort(team_factory, enrol, clock, tick, sessionmaker, person, db):
    """A director of another village gets no card and finds no case."""
    from core.cohorts.schemas import CohortCreate
    from core.cohorts.service import create_cohort

    await team_factory("zh-Hans")
    async with sessionmaker() as session, session.begin():
        other = await create_cohort(session, data=CohortCreate(name="别的村"), now=clock())
        issued = await create_staff(session, data=StaffCreate(display_name="孙主任", role=StaffRole.director,
                                                              cohort_ids=[other.id]), actor_id=None, now=clock(),
                                    link_days=7)
    sun = person()
    await sun.send(f"/start {issued.link_code}")
    await red_alert(enrol, clock, tick)
    assert sun.current_buttons() == []
    assert "没有个案 #1" in text_of(await sun.send("/case 1"))
    assert "现在没有未处理的警报" in text_of(await sun.send("/alerts"))
    sent = await sun.press("al1:1:ack")
    assert answered(sent)[0].text == "这个已经不能用了。"
    assert (await db.all(Alert))[0].status == "open"


# ------------------------------------------------------------------ the ladder, with the clock


@pytest.mark.parametrize("locale", LOCALES)
async def test_escalation_ladder_reminder_supervisor_then_admin(team_factory, enrol, clock, tick, db, locale):
    words = WORDS[locale]
    team = await team_factory(locale)
    await red_alert(enrol, clock, tick)
    [alert] = await db.all(Alert)
    opened = alert.created_at

    clock.set(opened + timedelta(minutes=44))
    await tick()
    assert not team.wang.last_shown().text.startswith("⏰")
    clock.set(opened + timedelta(minutes=45))  # three quarters of the hour
    await tick()
    assert team.wang.last().text.startswith(words["reminder"] + "\n\n<b>")
    assert team.li.last().text.startswith("⏰")

    clock.set(opened + timedelta(minutes=60))
    await tick()
    assert team.supervisor.last().text.startswith(words["escalated"])
    assert [t for t, _ in team.supervisor.current_buttons()] == words["buttons"]
    assert not any("al1:" in d for _, d in team.admin.current_buttons())

    clock.set(opened + timedelta(minutes=120))
    await tick()
    assert team.admin.last().text.startswith(words["escalated"])
    events = [(e.kind, e.detail.get("level")) for e in await db.all(CaseEvent)]
    assert events == [("alert", None), ("reminded", None), ("escalated", 1), ("escalated", 2)]
    [alert] = await db.all(Alert)
    assert (alert.escalation_level, alert.escalate_at) == (2, None)

    # The supervisor acknowledges from the phone: every card says so.
    await team.supervisor.tap(words["buttons"][0])
    for who in (team.wang, team.li, team.supervisor, team.admin):
        assert "赵督导" in card_of(who)
    clock.advance(hours=5)
    await tick()
    assert len(await db.all(CaseEvent, CaseEvent.kind == "escalated")) == 2  # nothing more


async def test_acknowledging_in_time_stops_the_ladder(team_factory, enrol, clock, tick, db):
    team = await team_factory()
    await red_alert(enrol, clock, tick)
    await team.li.tap("✅ 确认收到")
    clock.advance(hours=3)
    await tick()
    assert await db.count(CaseEvent, CaseEvent.kind.in_(["escalated", "reminded"])) == 0
    assert not team.supervisor.current_buttons()


async def test_no_linked_director_escalates_at_once(team_factory, enrol, clock, tick, db):
    team = await team_factory("zh-Hans", link=("supervisor", "admin"))
    await red_alert(enrol, clock, tick)
    assert team.supervisor.last().text.startswith(WORDS["zh-Hans"]["escalated"])
    [event] = await db.all(CaseEvent, CaseEvent.kind == "escalated")
    assert (event.detail["level"], event.detail["why"]) == (1, "no_director")


async def test_a_cohorts_own_deadlines_apply(team_factory, enrol, person, clock, tick, db, sessionmaker):
    team = await team_factory()
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Cohort).values(alert_policy={"ack_minutes": {"yellow": 120}}))
    other = await enrol(person(), children=(("小红", 2016, 1, "girl"),))
    clock.set(SUNDAY_1905)
    await tick()
    for value in (2, 0, 0, 0, 0, 0):
        await other.answer(value)
    await tick()
    [alert] = await db.all(Alert)
    assert alert.severity == "yellow" and alert.escalate_at - alert.created_at == timedelta(hours=2)
    clock.set(alert.created_at + timedelta(hours=2))
    await tick()
    assert team.supervisor.last().text.startswith(WORDS["zh-Hans"]["escalated"])


async def test_a_failed_notification_is_retried_until_delivered(team_factory, enrol, clock, tick, db, bot, sender):
    team = await team_factory("zh-Hans", link=("wang",))
    await answered_weekly(enrol, clock, tick, (0, 0, 0, 0, 0, 1))  # the alert is raised, not yet sent
    # Telegram is unreachable for more tries than an ordinary message gets.
    for _ in range(8):
        bot.session.raise_next(TelegramNetworkError(method=None, message="network down"))  # type: ignore[arg-type]
        await sender.drain_once()
        clock.advance(minutes=3)
    [notice] = await db.all(Delivery, Delivery.kind == "alert")
    assert notice.state == "pending" and notice.attempts >= 7 and notice.last_error == "network_error"
    await tick()
    [notice] = await db.all(Delivery, Delivery.kind == "alert")
    assert notice.state == "sent"
    assert "🔴 红色警报" in team.wang.last().text


async def test_a_director_who_blocked_the_bot_means_escalation_now(team_factory, enrol, clock, tick, db, bot, sender):
    team = await team_factory("zh-Hans", link=("wang", "supervisor"))
    await answered_weekly(enrol, clock, tick, (0, 0, 0, 0, 0, 1))  # the alert is raised, not yet sent
    bot.session.fail_next(403, "Forbidden: bot was blocked by the user")
    await sender.drain_once()
    [wang] = await db.all(Staff, Staff.display_name == "王主任")
    [endpoint] = await db.all(Endpoint, Endpoint.staff_id == wang.id)
    assert endpoint.state == "blocked"
    clock.advance(seconds=2)
    await tick()
    assert team.supervisor.last().text.startswith(WORDS["zh-Hans"]["escalated"])
    [event] = await db.all(CaseEvent, CaseEvent.kind == "escalated")
    assert event.detail["why"] == "director_blocked"
    # When he writes to the bot again, alerts reach him again.
    await team.wang.send("/alerts")
    [endpoint] = await db.all(Endpoint, Endpoint.staff_id == wang.id)
    assert endpoint.state == "active"


async def test_a_family_that_leaves_is_reported_and_its_case_kept(team_factory, enrol, clock, tick, db):
    team = await team_factory("en")
    grandma = await red_alert(enrol, clock, tick)
    await grandma.send("/delete")
    await grandma.tap("是的，删除" if False else grandma.current_buttons()[0][0])
    await tick()
    assert team.wang.last().text == ("A family of your group (household #1) has left Shouwang and erased its data. "
                                     "Their open cases (#1) are kept without names, as the child-protection record.")
    [case] = await db.all(Case)
    [alert] = await db.all(Alert)
    assert (case.status, case.child_id, case.household_id, alert.child_id) == ("open", None, None, None)
    assert "no name kept" in text_of(await team.wang.send("/case 1"))


async def test_a_card_telegram_refuses_for_good_goes_up_at_once(team_factory, enrol, clock, tick, db, bot, sender):
    team = await team_factory("zh-Hans", link=("wang", "supervisor"))
    await answered_weekly(enrol, clock, tick, (0, 0, 0, 0, 0, 1))  # the alert is raised, not yet sent
    bot.session.fail_next(400, "Bad Request: can't parse entities")
    await sender.drain_once()
    # The director's card failed for good; the supervisor's is queued at once, not in an hour.
    notices = {d.cycle: d.state for d in await db.all(Delivery, Delivery.kind == "alert")}
    assert notices == {"0": "failed", "1": "pending"}
    clock.advance(seconds=2)
    await tick()
    assert team.supervisor.last().text.startswith(WORDS["zh-Hans"]["escalated"])
    [event] = await db.all(CaseEvent, CaseEvent.kind == "escalated")
    assert event.detail["why"] == "notification_failed"


async def test_acting_through_the_api_updates_the_cards_on_the_phones(team_factory, enrol, clock, tick, db, settings,
                                                                     sessionmaker, world):
    import httpx

    from api.main import create_app

    team = await team_factory("en")
    await red_alert(enrol, clock, tick)
    app = create_app(settings=settings, sessionmaker=sessionmaker, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://test") as api:
        admin = {"Authorization": "Bearer test-admin-token"}
        response = await api.post("/api/v1/alerts/1/acknowledge", headers=admin)
        assert response.status_code == 200, response.text
    await tick()
    for director in (team.wang, team.li):
        edit = director.last_shown()
        assert isinstance(edit, EditMessageText) and "✅ Acknowledged by Bootstrap admin at 11-29 19:06" in edit.text
        assert [t for t, _ in director.current_buttons()] == WORDS["en"]["buttons"][1:]
    updates = await db.all(Delivery, Delivery.kind == "alert_update")
    assert {(d.state, d.lane) for d in updates} == {("sent", 0)} and len(updates) == 2


@pytest.mark.parametrize("locale", LOCALES)
async def test_a_note_on_a_case_from_its_history(team_factory, enrol, clock, tick, db, locale):
    team = await team_factory(locale)
    await red_alert(enrol, clock, tick)
    await team.li.send("/case 1")
    await team.li.tap("📝 加备注" if locale == "zh-Hans" else "📝 Add a note")
    assert team.li.last().text == ("请写下个案 #1 的备注。" if locale == "zh-Hans" else "Type the note for case #1.")
    sent = await team.li.send("和学校老师约了周三见面")
    assert text_of(sent) == ("备注已加到个案 #1。" if locale == "zh-Hans" else "Note added to case #1.")
    [note] = await db.all(CaseEvent, CaseEvent.kind == "note")
    assert (note.case_id, note.note) == (1, "和学校老师约了周三见面")
    history = text_of(await team.wang.send("/case 1"))
    assert "李主任" in history and "和学校老师约了周三见面" in history
    # A sticker instead of words keeps the question open.
    await team.li.tap("📝 加备注" if locale == "zh-Hans" else "📝 Add a note", even_removed=True)
    sent = await team.li.send_sticker()
    assert "“" in text_of(sent) and await db.count(CaseEvent, CaseEvent.kind == "note") == 1
