"""Enrolling on the web (#14): invitation link → consent → who you are → phone proved by an SMS
code → children → confirm, driving the same core flow as the bot; a second guardian joins an
existing household from the web; bad links, declined consent, wrong codes and double submits."""
from __future__ import annotations

from datetime import timedelta

import httpx
from sqlalchemy import select

from core.models import Child, ConsentDecline, Draft, Endpoint, Guardian, Household, HouseholdInvite, Invitation
from core.models.enums import GuardianStatus
from tests.web.mobile_fixtures import GRANDMA_PHONE, Mobile, client, mobile, text_of  # noqa: F401

NEW_PHONE = "+8613611112222"


async def _invitation(sessionmaker, mobile: Mobile, now, *, code: str = "village-a", **kw) -> None:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session, session.begin():
        session.add(Invitation(cohort_id=mobile.village.cohort.id, code=code, created_at=now, **kw))


async def _answer(client: httpx.AsyncClient, step: str, **form: str) -> httpx.Response:
    response = await client.post("/m/join/step", data={"step": step, **form})
    assert response.status_code == 303, (step, text_of(response.text))
    return response


async def _through_identity(client: httpx.AsyncClient, mobile: Mobile, phone: str = NEW_PHONE) -> httpx.Response:
    page = await client.get("/m/join/step")
    assert page.status_code == 200 and 'name="version"' in page.text
    await _answer(client, "consent", value="yes", version="1")
    await _answer(client, "relationship", value="grandmother")
    await _answer(client, "residence", value="with")
    await _answer(client, "call_name", text="李奶奶")
    sent = await client.post("/m/join/phone", data={"phone": phone[3:]})
    return sent


async def _children_and_confirm(client: httpx.AsyncClient) -> httpx.Response:
    await _answer(client, "village", text="三组 村口")
    await _answer(client, "child_nickname", text="小花")
    await _answer(client, "child_birth_year", text="2019")
    await _answer(client, "child_birth_month", value="5")
    await _answer(client, "child_sex", value="girl")
    await _answer(client, "more_children", value="done")
    return await client.post("/m/join/step", data={"step": "confirm", "value": "yes"})


async def test_a_new_guardian_enrols_on_the_web(client, mobile, sessionmaker, clock) -> None:  # noqa: F811
    now = clock()
    await _invitation(sessionmaker, mobile, now)
    landing = await client.get("/m/join/village-a")
    assert landing.status_code == 200 and 'value="village-a"' in landing.text
    started = await client.post("/m/join", data={"code": "village-a"})
    assert started.status_code == 303 and started.headers["location"] == "/m/join/step"
    cookie = started.headers["set-cookie"]
    assert "HttpOnly" in cookie and "sw_join=" in cookie and "Secure" in cookie

    sent = await _through_identity(client, mobile)
    assert sent.status_code == 303 and sent.headers["location"] == "/m/join/code"
    wrong = await client.post("/m/join/code", data={"code": "000000" if mobile.sms.code_for(NEW_PHONE) != "000000" else "111111"})
    assert wrong.status_code == 422 and "4" in text_of(wrong.text)
    right = await client.post("/m/join/code", data={"code": mobile.sms.code_for(NEW_PHONE)})
    assert right.status_code == 303 and right.headers["location"] == "/m/join/step"
    # The number is in the draft now; the page asks where the home is.
    assert "三组" in (await client.get("/m/join/step")).text

    done = await _children_and_confirm(client)
    assert done.status_code == 200, text_of(done.text)
    assert "王主任" in done.text
    again = await client.post("/m/join/step", data={"step": "confirm", "value": "yes"})  # a double press
    assert again.status_code == 303 and again.headers["location"] == "/m/"
    home = await client.get("/m/")
    assert home.status_code == 200 and "/signin" not in home.headers.get("location", "")

    async with sessionmaker() as session:
        guardian = await session.scalar(select(Guardian).where(Guardian.phone == NEW_PHONE))
        assert guardian is not None and guardian.call_name == "李奶奶" and guardian.status == GuardianStatus.active
        household = await session.get(Household, guardian.household_id)
        assert household is not None and household.cohort_id == mobile.village.cohort.id
        children = (await session.scalars(select(Child).where(Child.household_id == household.id))).all()
        assert [(c.nickname, c.birth_year, c.birth_month) for c in children] == [("小花", 2019, 5)]
        endpoints = (await session.scalars(select(Endpoint).where(Endpoint.guardian_id == guardian.id)
                                           .order_by(Endpoint.rank))).all()
        assert [e.address.split(":")[0] for e in endpoints] == ["sms", "web"]
        assert endpoints[0].address == f"sms:{NEW_PHONE}"
        assert (await session.scalar(select(Draft))) is None
        assert (await session.get(Invitation, 1) or (await session.scalars(select(Invitation))).first()).uses == 1


async def test_bad_codes_get_clear_pages_and_are_counted(client, mobile, sessionmaker, clock) -> None:  # noqa: F811
    now = clock()
    await _invitation(sessionmaker, mobile, now, code="old", expires_at=now - timedelta(days=1))
    await _invitation(sessionmaker, mobile, now, code="full", max_uses=1, uses=1)
    unknown = await client.post("/m/join", data={"code": "nope"})
    assert unknown.status_code == 422 and "不对" in unknown.text
    expired = await client.post("/m/join", data={"code": "old"})
    assert expired.status_code == 410 and "过期" in expired.text
    used = await client.post("/m/join", data={"code": "full"})
    assert used.status_code == 410 and 'name="code"' in used.text  # the form is there to type another
    lost = await client.get("/m/join/step")
    assert lost.status_code == 410
    english = await client.post("/m/join?lang=en", data={"code": "nope"})
    assert "this link or code is not right" in english.text


async def test_declining_keeps_nothing(client, mobile, sessionmaker, clock) -> None:  # noqa: F811
    await _invitation(sessionmaker, mobile, clock())
    await client.post("/m/join", data={"code": "village-a"})
    declined = await client.post("/m/join/step", data={"step": "consent", "value": "no", "version": "1"})
    assert declined.status_code == 200 and "没有保存" in declined.text
    async with sessionmaker() as session:
        assert (await session.scalar(select(Draft))) is None
        assert len((await session.scalars(select(ConsentDecline))).all()) == 1


async def test_bad_answers_stay_on_the_question(client, mobile, sessionmaker, clock) -> None:  # noqa: F811
    await _invitation(sessionmaker, mobile, clock())
    await client.post("/m/join", data={"code": "village-a"})
    await _answer(client, "consent", value="yes", version="1")
    stale = await client.post("/m/join/step", data={"step": "consent", "value": "yes", "version": "1"})
    assert stale.status_code == 409 and "其他照顾人" in stale.text and "前面一个问题" in stale.text  # a second press of an old page
    await _answer(client, "relationship", value="mother")
    await _answer(client, "residence", value="away")
    long = await client.post("/m/join/step", data={"step": "call_name", "text": "好" * 300})
    assert long.status_code == 422 and 'aria-invalid="true"' in long.text
    await _answer(client, "call_name", text="小明妈妈")
    bad_phone = await client.post("/m/join/phone", data={"phone": "12345"})
    assert bad_phone.status_code == 422 and "11" in bad_phone.text


async def test_a_number_on_record_signs_in_instead(client, mobile, sessionmaker, clock) -> None:  # noqa: F811
    await _invitation(sessionmaker, mobile, clock())
    await client.post("/m/join", data={"code": "village-a"})
    sent = await _through_identity(client, mobile, phone=GRANDMA_PHONE)
    assert sent.status_code == 303 and sent.headers["location"] == "/m/signin/code"
    signed = await client.post("/m/signin/code", data={"code": mobile.sms.code_for(GRANDMA_PHONE)})
    assert signed.status_code == 303 and signed.headers["location"] == "/m/"
    async with sessionmaker() as session:
        assert len((await session.scalars(select(Guardian).where(Guardian.phone == GRANDMA_PHONE))).all()) == 1


async def test_a_second_guardian_joins_the_household_from_the_web(client, mobile, sessionmaker, clock) -> None:  # noqa: F811
    now = clock()
    async with sessionmaker() as session, session.begin():
        session.add(HouseholdInvite(household_id=mobile.village.home_a.id, code="hjoinme123456",
                                    created_by_guardian_id=mobile.village.father.id,
                                    expires_at=now + timedelta(days=7), created_at=now))
    await client.post("/m/join", data={"code": "hjoinme123456"})
    sent = await _through_identity(client, mobile)
    assert sent.headers["location"] == "/m/join/code"
    await client.post("/m/join/code", data={"code": mobile.sms.code_for(NEW_PHONE)})
    await _answer(client, "village", value="skip")
    summary = await client.get("/m/join/step")
    assert "请核对" in summary.text or "check" in summary.text
    done = await client.post("/m/join/step", data={"step": "confirm", "value": "yes"})
    assert done.status_code == 200, text_of(done.text)
    async with sessionmaker() as session:
        guardian = await session.scalar(select(Guardian).where(Guardian.phone == NEW_PHONE))
        assert guardian is not None and guardian.household_id == mobile.village.home_a.id


async def test_a_web_only_guardian_gets_a_lesson_notice_by_sms_through_the_sender(client, mobile, sessionmaker,  # noqa: F811
                                                                                  clock) -> None:
    from channels.sms.messenger import SmsMessenger
    from core.delivery.channels import ByChannel
    from core.delivery.outbox import enqueue
    from core.delivery.ratelimit import TokenBucket
    from core.delivery.sender import Sender, SenderConfig
    from core.endpoints.service import first_address
    from core.flows.delivery import sender_hooks
    from core.models import Delivery, SmsMessage
    from tests.channels.sms_fixtures import make_notices

    await _invitation(sessionmaker, mobile, clock())
    await client.post("/m/join", data={"code": "village-a"})
    await _through_identity(client, mobile)
    await client.post("/m/join/code", data={"code": mobile.sms.code_for(NEW_PHONE)})
    assert (await _children_and_confirm(client)).status_code == 200
    async with sessionmaker() as session, session.begin():
        guardian = await session.scalar(select(Guardian).where(Guardian.phone == NEW_PHONE))
        assert guardian is not None
        address = await first_address(session, guardian_id=guardian.id)
        assert address == f"sms:{NEW_PHONE}"
        row = await enqueue(session, address=address, guardian_id=guardian.id, cohort_id=mobile.village.cohort.id,
                            kind="lesson", ref="lesson-1", cycle="1", lane=2, due_at=clock(), now=clock())
        assert row is not None
        row_id = row.id
    before = len(mobile.sms.sent)

    class NoWait:
        t = 0.0

        def monotonic(self) -> float:
            return self.t

        async def sleep(self, seconds: float) -> None:
            self.t += seconds

    t = NoWait()
    sender = Sender(sessionmaker, ByChannel({"sms": SmsMessenger(make_notices(mobile.settings, mobile.sms, sessionmaker, clock))}), hooks=sender_hooks(),
                    clock=clock, config=SenderConfig(rate=30, concurrency=1),
                    bucket=TokenBucket(30, monotonic=t.monotonic, sleep=t.sleep))
    clock.advance(minutes=5)  # notices keep their distance from the sign-in code just sent
    await sender.drain_once()
    assert len(mobile.sms.sent) == before + 1
    assert mobile.sms.sent[-1].phone.endswith(NEW_PHONE[3:]) and mobile.sms.sent[-1].template_code == "SMS_900002"
    async with sessionmaker() as session:
        delivery = await session.get(Delivery, row_id)
        assert delivery is not None and delivery.state == "sent"
        message = await session.scalar(select(SmsMessage).where(SmsMessage.delivery_id == row_id))
        assert message is not None and message.guardian_id == guardian.id
