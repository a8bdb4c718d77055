"""The proof that the core needs nothing from Telegram (issue #13): a guardian lives the whole
journey on a second channel adapter — tests/channels/testchannel.py, no edits, no buttons,
1,000 characters, a 48-hour reply window — while her child director works on Telegram.

Only core's flows and services are driven, with channel-neutral inputs (a choice id, a typed
text, a shared phone number); what a test-channel adapter would do with an inbound message is
the `inbound` helper below (note that the person wrote, then call the flow). Everything
outgoing goes through the real outbox sender, through ByChannel, to the test channel or to the
real TelegramMessenger over a mocked Bot API session. Enrolment, a lesson from the scheduler,
the weekly check-in, a red answer and its safety message, the alert card to the director on
Telegram, her acknowledgement (the card edited through the outbox), a home visit and the
resolution, the follow-up check-in on the test channel and its result back on Telegram. Then the
48-hour window: rows refused with window_closed move to the guardian's SMS endpoint, or end for
someone who has no other endpoint, until the person writes again; then what still waits on SMS
comes back to the test channel."""
from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import EditMessageText, SendMessage
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.i18n import build_i18n, compile_catalogs
from bot.messenger import TelegramMessenger
from channels.sms.messenger import SmsMessenger
from core.access import Scope, scope_for
from core.alerts import cases
from core.alerts.prompts import set_prompt
from core.clock import FrozenClock
from core.cohorts.schemas import CohortCreate
from core.cohorts.service import create_cohort
from core.config import PROJECT_ROOT, Settings
from core.content.texts import current_text
from core.delivery import lessons as lesson_service
from core.delivery.channels import ByChannel
from core.delivery.outbox import hand_over
from core.delivery.ratelimit import TokenBucket
from core.delivery.sender import Sender, SenderConfig
from core.endpoints.service import add_endpoint, endpoints_of, first_address, heard_from
from core.enrolment import service as enrolment
from core.enrolment.invitations import InvitationCreate, create_invitation
from core.flows import cases as case_flows
from core.flows import checkin as conversation
from core.flows import director as director_flow
from core.flows import enrolment as enrolment_flow
from core.flows.delivery import sender_hooks
from core.models import Alert, Case, CaseEvent, CheckIn, Cohort, Delivery, Endpoint, Guardian, Staff
from core.models.enums import DraftFlow, StaffRole
from core.staff import service as staff_service
from core.staff.schemas import StaffCreate
from core.tick import run_tick
from tests.bot.mocked_bot import MockedBot
from tests.channels.sms_fixtures import make_double, make_notices, sms_settings
from tests.channels.testchannel import CAPABILITIES, REPLY_WINDOW, TestChannel
from tests.channels.testchannel import address as on_test
from tests.core.test_outbox import FakeTime

CST = timezone(timedelta(hours=8))
SATURDAY_10 = datetime(2026, 11, 28, 10, 0, tzinfo=CST)  # she enrols
SATURDAY_20 = datetime(2026, 11, 28, 20, 0, tzinfo=CST)  # the cohort's lesson time
SUNDAY_1905 = datetime(2026, 11, 29, 19, 5, tzinfo=CST)  # the weekly check-in went out at 19:00
DIRECTOR_CHAT = 9001
GRANDMA = on_test("grandma-1")
PHONE = "+8613812345678"
SAFETY_INDEX = 5  # weekly_checkin: mood, sleep_appetite, school, parent_contact, upsetting_event, safety


# ---------------------------------------------------------------- the world



@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_catalogs(PROJECT_ROOT / "locales", tmp_path_factory.mktemp("locales"))


@pytest.fixture
def settings(settings: Settings, compiled: Path) -> Settings:
    return sms_settings(settings.model_copy(update={"locales_dir": compiled}))


@pytest.fixture
def bot() -> MockedBot:
    return MockedBot()


@pytest.fixture
def channel(clock: FrozenClock) -> TestChannel:
    return TestChannel(clock)


@pytest.fixture
def sms_double(clock: FrozenClock):  # type: ignore[no-untyped-def]
    return make_double(clock)


@pytest.fixture
def sender(sessionmaker: async_sessionmaker[AsyncSession], bot: MockedBot, channel: TestChannel, settings: Settings,
           sms_double, clock: FrozenClock, tmp_path: Path) -> Sender:  # type: ignore[no-untyped-def]
    """The production sender over three adapters, chosen by each row's address."""
    messengers = ByChannel({
        "test": channel,
        "telegram": TelegramMessenger(bot, build_i18n(settings), media_root=tmp_path / "media"),
        "sms": SmsMessenger(make_notices(settings, sms_double, sessionmaker, clock)),
    })
    config = SenderConfig()
    fake = FakeTime()
    return Sender(sessionmaker, messengers, hooks=sender_hooks(), clock=clock, config=config,
                  bucket=TokenBucket(config.rate, monotonic=fake.monotonic, sleep=fake.sleep))


class Village:
    def __init__(self, cohort_id: int, director_id: int, invitation_code: str) -> None:
        self.cohort_id, self.director_id, self.invitation_code = cohort_id, director_id, invitation_code


@pytest.fixture
async def village(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, settings: Settings,
                  loaded_content: None) -> Village:
    """A cohort with Saturday lessons at 20:00, the default check-in calendar (weekly on Sunday
    at 19:00) and follow-ups a day after a case closes; its director 王主任 linked to Telegram
    with her one-time code, as /start <code> does; an invitation poster."""
    clock.set(SATURDAY_10.astimezone(timezone.utc) - timedelta(hours=1))
    async with sessionmaker() as session, session.begin():
        cohort = await create_cohort(session, data=CohortCreate(name="石桥村"), now=clock())
        cohort.lesson_schedule = {"days": ["sat"], "time": "20:00"}
        cohort.alert_policy = {"followup_days": 1}
        admin = await staff_service.create_staff(session, data=StaffCreate(display_name="Admin", role=StaffRole.admin),
                                                 actor_id=None, now=clock(), link_days=7)
        invitation = await create_invitation(session, scope=Scope(staff_id=admin.staff.id, role=StaffRole.admin,
                                                                  cohort_ids=None),
                                             cohort_id=cohort.id, data=InvitationCreate(label="海报"), now=clock())
        issued = await staff_service.create_staff(
            session, data=StaffCreate(display_name="王主任", role=StaffRole.director, cohort_ids=[cohort.id],
                                      primary_cohort_ids=[cohort.id]), actor_id=None, now=clock(), link_days=7)
        address = f"telegram:{DIRECTOR_CHAT}"
        found = await enrolment.resolve_code(session, address=address, code=issued.link_code or "", now=clock(),
                                             max_attempts=settings.code_attempts_max,
                                             window_minutes=settings.code_attempts_window_minutes)
        assert found.kind == "staff" and found.staff is not None
        await staff_service.link_address(session, staff=found.staff, address=address, now=clock())
        return Village(cohort.id, issued.staff.id, invitation.code)


# ---------------------------------------------------------------- what a test-channel adapter does


@contextlib.asynccontextmanager
async def inbound(sessionmaker: async_sessionmaker[AsyncSession], channel: TestChannel, address: str,
                  now: datetime) -> AsyncIterator[AsyncSession]:
    """The person at `address` wrote or answered: the provider's reply window opens (the test
    channel hears it), core notes it (their endpoints work again), and the flow runs in one
    transaction, committed before anything is shown."""
    channel.heard(address, now)
    async with sessionmaker() as session, session.begin():
        await heard_from(session, address=address, now=now)
        guardian = await enrolment.find_guardian(session, address=address)
        if guardian is not None:
            enrolment.mark_reachable(guardian, now=now)
        yield session


async def send_all(sender: Sender, clock: FrozenClock, *, within: timedelta = timedelta(minutes=5)) -> None:
    """Drain the outbox as the sender's loops would, moving the clock only as far as rows that
    wait a moment (the per-endpoint second, the SMS number's minute) need, and never further
    than `within`."""
    until = clock() + within
    while True:
        stats = await sender.drain_once()
        if stats.claimed:
            continue
        async with sender.sessionmaker() as session:
            due = await session.scalar(select(Delivery.due_at).where(Delivery.state == "pending")
                                       .order_by(Delivery.due_at).limit(1))
        if due is None or due <= clock() or due > until:
            return
        clock.set(due)


async def tick(sessionmaker: async_sessionmaker[AsyncSession], settings: Settings, clock: FrozenClock,
               sender: Sender) -> None:
    await run_tick(sessionmaker, settings=settings, clock=clock)
    await send_all(sender, clock)


async def enrol(sessionmaker: async_sessionmaker[AsyncSession], channel: TestChannel, clock: FrozenClock,
                settings: Settings, *, address: str, code: str, call_name: str = "王奶奶",
                relationship: str = "grandmother", lives_with: bool = True, phone: str | None = "+86 138 1234 5678",
                nickname: str = "小明") -> int:
    """Invitation code → language → consent → relationship → where they live → name, phone (a
    shared contact), village → a child → done → yes, each input a transaction of its own, as
    core.flows.enrolment takes them. Returns the guardian's id."""
    async with inbound(sessionmaker, channel, address, clock()) as session:
        found = await enrolment.resolve_code(session, address=address, code=code, now=clock(),
                                             max_attempts=settings.code_attempts_max,
                                             window_minutes=settings.code_attempts_window_minutes)
        assert found.kind == "invitation" and found.invitation is not None
        draft = await enrolment.begin_flow(session, address=address, flow=DraftFlow.enrol, now=clock(),
                                           invitation_id=found.invitation.id)
        assert draft.step == enrolment.LANGUAGE
        consent = await current_text(session, kind="consent")
        assert consent is not None
        version = consent.version

    inputs: list[tuple[str, Any]] = [
        ("choose", "zh-Hans"), ("consent", True), ("choose", relationship), ("choose", "with" if lives_with else "away"),
        ("text", call_name), ("contact" if phone else "choose", phone or "skip"), ("text", "三组 村口小卖部旁"),
        ("text", nickname), ("choose", "2018"), ("choose", "5"), ("choose", "boy"), ("choose", "done"),
        ("choose", "yes"),
    ]
    result = None
    for how, value in inputs:
        clock.advance(seconds=20)
        async with inbound(sessionmaker, channel, address, clock()) as session:
            draft = await enrolment.get_draft(session, address=address)
            assert draft is not None
            if how == "consent":
                result = await enrolment_flow.consent(session, draft=draft, agree=value, version=version, now=clock())
            elif how == "choose":
                result = await enrolment_flow.choose(session, draft=draft, guardian=None, value=value, now=clock())
            elif how == "contact":
                result = enrolment_flow.answer_text(draft, text=None, contact_phone=value, now=clock())
            else:
                result = enrolment_flow.answer_text(draft, text=value, now=clock())
            assert result.hint is None, (how, value, result)
    assert result is not None and result.outcome == "enrolled" and result.director == "王主任"
    async with sessionmaker() as session:
        guardian = await enrolment.find_guardian(session, address=address)
        assert guardian is not None
        return guardian.id


def typed_choice(question: dict[str, Any], typed: str) -> int:
    """The person typed the number of a choice (no buttons here): its value."""
    return int(question["choices"][int(typed) - 1][0])


async def answer_by_typing(sessionmaker: async_sessionmaker[AsyncSession], channel: TestChannel, clock: FrozenClock,
                           *, address: str, checkin_id: int, question: dict[str, Any],
                           typed: list[str]) -> conversation.Step:
    """Answer a check-in one typed number at a time, as core.flows.checkin takes them; each next
    question comes back as plain data (the adapter would show it as a new message: it cannot
    edit the one before). A safety message reserved by a red answer is handed to the outbox."""
    step = None
    for number in typed:
        clock.advance(seconds=30)
        async with inbound(sessionmaker, channel, address, clock()) as session:
            guardian = await enrolment.find_guardian(session, address=address)
            assert guardian is not None
            step = await conversation.answer(session, checkin_id=checkin_id, index=question["index"],
                                             value=typed_choice(question, number), guardian=guardian, now=clock())
            if step.safety is not None:
                # No reply path of its own: the sender delivers it now, on lane 0.
                await hand_over(session, [step.safety[0]], now=clock(), error="sent through the outbox")
        if step.question is not None:
            question = step.question.as_payload()
    assert step is not None
    return step


async def as_staff(session: AsyncSession, staff_id: int) -> tuple[Staff, Scope]:
    staff = await session.get(Staff, staff_id)
    assert staff is not None
    return staff, await scope_for(session, staff)


def to_director(bot: MockedBot) -> list[Any]:
    return [r for r in bot.requests if getattr(r, "chat_id", None) == DIRECTOR_CHAT]


# ---------------------------------------------------------------- the journey


async def test_a_guardian_on_the_test_channel_from_enrolment_to_the_follow_up(  # type: ignore[no-untyped-def]
        sessionmaker, settings, clock, bot, channel, sender, village):
    assert CAPABILITIES.can_edit is False and CAPABILITIES.buttons is False
    assert CAPABILITIES.reply_window == REPLY_WINDOW == timedelta(hours=48)

    # Saturday morning: she enrols on the test channel with the poster's code.
    clock.set(SATURDAY_10)
    grandma_id = await enrol(sessionmaker, channel, clock, settings, address=GRANDMA, code=village.invitation_code)
    async with sessionmaker() as session:
        endpoints = await endpoints_of(session, guardian_id=grandma_id)
        assert [(e.channel, e.address, e.state) for e in endpoints] == [("test", GRANDMA, "active")]
        grandma = await session.get(Guardian, grandma_id)
        assert grandma is not None and grandma.phone == PHONE and grandma.call_name == "王奶奶"

    # Saturday 20:00: the scheduler plans the week's lesson; the sender carries it as plain text.
    clock.set(SATURDAY_20)
    await tick(sessionmaker, settings, clock, sender)
    lesson = channel.last(GRANDMA, "lesson")
    assert lesson.content["title"] and lesson.text.startswith(lesson.content["title"])
    assert "<b>" not in lesson.text and "**" not in lesson.text
    assert all(len(part) <= CAPABILITIES.max_text for part in lesson.parts)  # type: ignore[operator]
    clock.advance(minutes=30)
    async with inbound(sessionmaker, channel, GRANDMA, clock()) as session:  # she replies "1": it helped
        grandma = await session.get(Guardian, grandma_id)
        assert grandma is not None
        await lesson_service.record_feedback(session, guardian=grandma, delivery_id=lesson.item.delivery_id,
                                             question="helpful", answer="yes", now=clock())

    # Sunday 19:05: the weekly check-in reaches her on the test channel, its first question with
    # numbered choices to type back.
    clock.set(SUNDAY_1905)
    await tick(sessionmaker, settings, clock, sender)
    asked = channel.last(GRANDMA, "checkin")
    question = asked.content["question"]
    assert question["index"] == 0 and "1. " in asked.text and "Reply with the number" in asked.text
    checkin_id = asked.content["checkin_id"]

    # She answers: all is well … until the safety question, "someone hurt them".
    step = await answer_by_typing(sessionmaker, channel, clock, address=GRANDMA, checkin_id=checkin_id,
                                  question=question, typed=["1", "1", "1", "1", "1"])
    assert step.question is not None and step.question.index == SAFETY_INDEX
    harmed = next(n for n, (value, _label) in enumerate(step.question.choices, start=1) if value == 2)
    step = await answer_by_typing(sessionmaker, channel, clock, address=GRANDMA, checkin_id=checkin_id,
                                  question=step.question.as_payload(), typed=[str(harmed)])
    assert step.completed and step.safety is not None
    assert [(a.severity, a.rule_id) for a in step.alerts] == [("red", "safety_harmed_by_someone")]
    alert_id = step.alerts[0].id
    answered_at = clock()

    # The sender: the safety message to her on the test channel, the alert card to the director on
    # Telegram (a Bot API sendMessage with buttons), a fitting lesson to her.
    await send_all(sender, clock)
    safety = channel.last(GRANDMA, "safety")
    assert "110" in safety.text and "王主任" in safety.text and "<" not in safety.text
    [card] = [r for r in to_director(bot) if isinstance(r, SendMessage) and "红色警报" in r.text]
    assert card.text.startswith("<b>🔴 红色警报</b> · 个案 #1\n小明（8岁）\n王奶奶 · 13812345678 · 三组 村口小卖部旁")
    assert card.reply_markup is not None and card.reply_markup.inline_keyboard
    card_message_id = next(r.message_id for q, r in zip(bot.session.requests, bot.session.results) if q is card)
    assert "lesson" in channel.kinds(GRANDMA)[2:]  # the suggested lesson, after the check-in

    # The director acknowledges (the card is edited through the outbox), logs a home visit,
    # and resolves the next morning.
    clock.advance(minutes=10)
    async with sessionmaker() as session, session.begin():
        _staff, scope = await as_staff(session, village.director_id)
        done = await cases.acknowledge(session, scope=scope, alert_id=alert_id, now=clock())
        assert done.first
    await send_all(sender, clock)
    [edit] = [r for r in to_director(bot) if isinstance(r, EditMessageText)]
    assert edit.message_id == card_message_id and "王主任" in edit.text

    clock.advance(hours=1)
    async with sessionmaker() as session, session.begin():
        staff, scope = await as_staff(session, village.director_id)
        prompt = await set_prompt(session, staff_id=staff.id, address=f"telegram:{DIRECTOR_CHAT}", kind="contact",
                                  now=clock(), alert_id=alert_id, data={"method": "visit"})
        visit = await director_flow.carry_out(session, scope=scope, prompt=prompt, now=clock(),
                                              note="上门看了，孩子身上没有新伤")
        assert (visit.kind, visit.method, visit.case_id) == ("contact", "visit", 1)

    clock.set(datetime(2026, 11, 30, 9, 0, tzinfo=CST))
    async with sessionmaker() as session, session.begin():
        _staff, scope = await as_staff(session, village.director_id)
        resolved = await case_flows.resolve_alert(session, scope=scope, alert_id=alert_id, outcome="safe_now",
                                                  note="派出所已处理，孩子安全", now=clock())
        assert resolved.case_closed and len(resolved.followups) == 1
        followup_id = resolved.followups[0].id
        due = resolved.followups[0].due_at
    assert due == clock() + timedelta(days=1)
    await send_all(sender, clock)
    edits = [r for r in to_director(bot) if isinstance(r, EditMessageText)]
    assert len(edits) == 2 and edits[-1].message_id == card_message_id

    # A day later the follow-up check-in goes to her on the test channel: her window is still
    # open (she last wrote when she answered, less than 48 hours ago).
    clock.set(due)
    assert clock() - answered_at < REPLY_WINDOW
    await tick(sessionmaker, settings, clock, sender)
    followup = channel.last(GRANDMA, "checkin")
    assert followup.content["checkin_id"] == followup_id and followup.content["question"]["index"] == 0
    step = await answer_by_typing(sessionmaker, channel, clock, address=GRANDMA, checkin_id=followup_id,
                                  question=followup.content["question"], typed=["1"] * 6)
    assert step.completed and step.alerts == [] and step.safety is None

    # Its result reaches the director on Telegram.
    await send_all(sender, clock)
    results = [r for r in to_director(bot) if isinstance(r, SendMessage) and "随访" in r.text]
    assert len(results) == 1 and "小明" in results[0].text

    async with sessionmaker() as session:
        case = await session.scalar(select(Case).where(Case.id == 1))
        assert case is not None and case.status == "closed"
        events = (await session.scalars(select(CaseEvent.kind).where(CaseEvent.case_id == 1)
                                        .order_by(CaseEvent.id))).all()
        assert list(events) == ["alert", "acknowledged", "contact", "resolved", "closed", "followup_scheduled",
                                "followup_result"]
        alert = await session.get(Alert, alert_id)
        assert alert is not None and (alert.status, alert.outcome) == ("resolved", "safe_now")
        followup_row = await session.get(CheckIn, followup_id)
        assert followup_row is not None and followup_row.state == "completed"

        # Nothing of hers needed Telegram: every row to her went to her test address, every Bot
        # API call went to the director's chat, and she has no endpoint on any other channel.
        to_her = (await session.scalars(select(Delivery.address).where(Delivery.guardian_id == grandma_id))).all()
        assert to_her and set(to_her) == {GRANDMA}
        assert (await session.scalars(select(Endpoint.channel).where(Endpoint.guardian_id == grandma_id))).all() \
            == ["test"]
        unsent = (await session.scalars(select(Delivery.kind).where(Delivery.guardian_id == grandma_id,
                                                                    Delivery.state != "sent"))).all()
        assert set(unsent) <= {"lesson_followup"}  # "did you try it?" is due later in the week
    assert {getattr(r, "chat_id", DIRECTOR_CHAT) for r in bot.requests} == {DIRECTOR_CHAT}
    assert not [c.name for c in Guardian.__table__.columns if "telegram" in c.name or "chat" in c.name]
    assert channel.refused == []
    assert channel.kinds(GRANDMA)[:2] == ["lesson", "checkin"] and channel.kinds(GRANDMA).count("safety") == 1


# ---------------------------------------------------------------- the 48-hour window


async def test_after_48_hours_of_silence_rows_move_to_the_next_endpoint_or_end(  # type: ignore[no-untyped-def]
        sessionmaker, settings, clock, bot, channel, sender, sms_double, village):
    """Grandma has the test channel first and her SMS number second; a father in another family
    has only the test channel. Lessons on Saturdays and Tuesdays, no check-ins."""
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Cohort).where(Cohort.id == village.cohort_id).values(
            lesson_schedule={"days": ["tue", "sat"], "time": "20:00"}, checkin_schedule={}))
    father_address = on_test("father-7")
    clock.set(SATURDAY_10)
    grandma_id = await enrol(sessionmaker, channel, clock, settings, address=GRANDMA, code=village.invitation_code)
    father_id = await enrol(sessionmaker, channel, clock, settings, address=father_address,
                            code=village.invitation_code, call_name="小明爸爸", relationship="father",
                            lives_with=False, phone=None, nickname="小军")
    async with sessionmaker() as session, session.begin():
        await add_endpoint(session, address=f"sms:{PHONE}", guardian_id=grandma_id, now=clock())
    last_words = clock()

    async def rows(guardian_id: int, kind: str) -> list[Delivery]:
        async with sessionmaker() as session:
            return list((await session.scalars(select(Delivery).where(
                Delivery.guardian_id == guardian_id, Delivery.kind == kind).order_by(Delivery.id))).all())

    async def endpoint_state(address: str) -> str | None:
        async with sessionmaker() as session:
            return await session.scalar(select(Endpoint.state).where(Endpoint.address == address))

    # Saturday 20:00, ten hours after they wrote: both lessons go on the test channel.
    clock.set(SATURDAY_20)
    await tick(sessionmaker, settings, clock, sender)
    assert channel.kinds(GRANDMA) == ["lesson"] and channel.kinds(father_address) == ["lesson"]

    clock.set(datetime(2026, 12, 1, 20, 0, tzinfo=CST))
    assert clock() - last_words > REPLY_WINDOW
    await tick(sessionmaker, settings, clock, sender)
    # Tuesday 20:00, 72 hours of silence: the first row due, "did you try Saturday's lesson?",
    # is refused by the test channel with window_closed, for each of them.
    assert [(r.item.address, r.item.kind, r.status) for r in channel.refused] == [
        (GRANDMA, "lesson_followup", "window_closed"), (father_address, "lesson_followup", "window_closed")]
    assert channel.kinds(GRANDMA) == ["lesson"] and channel.kinds(father_address) == ["lesson"]
    assert await endpoint_state(GRANDMA) == "window_closed" == await endpoint_state(father_address)
    # Grandma's row moved to her next endpoint and went as an SMS notice; Tuesday's lesson,
    # planned for the test channel, was sent there too (a minute later: one SMS a minute).
    followup = (await rows(grandma_id, "lesson_followup"))[0]
    assert (followup.address, followup.state) == (f"sms:{PHONE}", "sent")
    [_saturday, tuesday] = await rows(grandma_id, "lesson")
    assert (tuesday.address, tuesday.state) == (f"sms:{PHONE}", "sent")
    assert [m.template_code for m in sms_double.sent] == ["SMS_900002", "SMS_900002"]  # "a lesson is ready"
    # The father has nowhere else: his row ends (a closed window is not retried), Tuesday's
    # lesson is not sent, and he is unreachable until he writes.
    [his_followup] = await rows(father_id, "lesson_followup")
    assert (his_followup.address, his_followup.state, his_followup.last_error) == (
        father_address, "failed", "window_closed")
    [_saturday, his_tuesday] = await rows(father_id, "lesson")
    assert (his_tuesday.state, his_tuesday.last_error) == ("cancelled", "unreachable")
    async with sessionmaker() as session:
        father = await session.get(Guardian, father_id)
        grandma = await session.get(Guardian, grandma_id)
        assert father is not None and father.unreachable_at is not None
        assert grandma is not None and grandma.unreachable_at is None

    # Saturday: grandma's lesson is planned straight to SMS; nothing is planned for the father.
    clock.set(datetime(2026, 12, 5, 20, 0, tzinfo=CST))
    refusals = len(channel.refused)
    await tick(sessionmaker, settings, clock, sender)
    assert len(channel.refused) == refusals
    assert [(d.address, d.state) for d in await rows(grandma_id, "lesson")][-1] == (f"sms:{PHONE}", "sent")
    assert len(await rows(father_id, "lesson")) == 2

    # Saturday's lesson went by SMS, so its "did you try it?" is planned for SMS, next Tuesday.
    [*_sent, waiting] = await rows(grandma_id, "lesson_followup")
    assert (waiting.address, waiting.state) == (f"sms:{PHONE}", "pending")
    texts = len(sms_double.sent)

    # Monday both write on the test channel: the window opens, their test endpoints work again,
    # what waits for grandma on SMS comes back to the test channel (no paid notice for someone
    # talking to us there), and Tuesday's lesson reaches each of them there.
    clock.set(datetime(2026, 12, 7, 9, 0, tzinfo=CST))
    for address in (GRANDMA, father_address):
        async with inbound(sessionmaker, channel, address, clock()):
            pass
    assert await endpoint_state(GRANDMA) == "active" and await endpoint_state(father_address) == "active"
    async with sessionmaker() as session:
        assert await first_address(session, guardian_id=grandma_id, now=clock()) == GRANDMA
    [*sent_by_sms, back] = await rows(grandma_id, "lesson_followup")
    assert (back.id, back.address, back.state, back.due_at) == (waiting.id, GRANDMA, "pending", waiting.due_at)
    assert {(d.address, d.state) for d in sent_by_sms} == {(f"sms:{PHONE}", "sent")}  # sent rows never move
    clock.set(datetime(2026, 12, 8, 20, 0, tzinfo=CST))
    await tick(sessionmaker, settings, clock, sender)
    assert channel.kinds(GRANDMA) == ["lesson", "lesson", "lesson_followup"]
    assert channel.kinds(father_address) == ["lesson", "lesson"]
    assert len(sms_double.sent) == texts  # nothing more by SMS, nothing twice
    assert [(d.address, d.state) for d in await rows(grandma_id, "lesson_followup") if d.id == waiting.id] == [
        (GRANDMA, "sent")]
    assert bot.requests == []  # nobody in this story is on Telegram but the director, who heard nothing
