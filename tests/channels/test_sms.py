"""The SMS channel against the local Aliyun double: a signed send, receipts, each error class as
the port's outcome (and the channel problem /healthz shows), the per-number limits (ours and the
provider's), quiet hours, segments and cost per cohort, and the Messenger port for outbox rows."""
from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select

from channels.sms.aliyun import outcome_for, signature
from channels.sms.messenger import SmsMessenger
from channels.sms.receipts import build_app
from core.models import SmsMessage
from core.ports import Outgoing
from core.sms.notices import Notice, NoticeRefused, Template, segments
from core.sms.service import NoticeDeferred, channel_problems, cost_by_cohort
from tests.channels.sms_fixtures import RECEIPT_TOKEN, make_double, make_gateway, make_notices, sms_settings
from tests.core.checkin_fixtures import seed_village

GRANDMA = "+8613812345678"


@pytest.fixture
def sms(settings, sessionmaker, clock):  # type: ignore[no-untyped-def]
    settings = sms_settings(settings)
    double = make_double(clock)
    return settings, double, make_notices(settings, double, sessionmaker, clock)


async def _rows(sessionmaker) -> list[SmsMessage]:  # type: ignore[no-untyped-def]
    async with sessionmaker() as session:
        return list((await session.scalars(select(SmsMessage).order_by(SmsMessage.id))).all())


@pytest.mark.parametrize(("text", "expected"), [("a" * 70, 1), ("a" * 71, 2), ("字" * 134, 2), ("字" * 135, 3), ("", 1)])
def test_segments_70_then_67_per_part(text, expected):
    assert segments(text) == expected


def test_the_signature_is_the_documented_one():
    # The worked example of Aliyun's "signature mechanism" page (RPC, HMAC-SHA1, secret "testsecret").
    params = {"AccessKeyId": "testid", "Action": "DescribeRegions", "Format": "XML", "SignatureMethod": "HMAC-SHA1",
              "SignatureNonce": "3ee8c1b8-83d3-44af-a94f-4e0ad82fd6cf", "SignatureVersion": "1.0",
              "Timestamp": "2016-02-23T12:46:24Z", "Version": "2014-05-26"}
    assert signature("GET", params, "testsecret") == "OLeaidS1JvxuMvnyHOwuJ+uX5qY="


async def test_a_sign_in_code_is_sent_signed_and_recorded(sms, sessionmaker):
    settings, double, notices = sms
    outcome = await notices.send(kind="sign_in_code", phone=GRANDMA, params={"code": "246810"})
    assert outcome.status == "sent" and outcome.provider_id == double.sent[0].biz_id
    assert double.sent[0].phone == "13812345678" and double.code_for(GRANDMA) == "246810"
    [row] = await _rows(sessionmaker)
    assert (row.state, row.provider_id, row.kind, row.segments) == ("sent", outcome.provider_id, "sign_in_code", 1)
    assert "13812345678" not in row.phone_hash  # never the number itself


async def test_notices_carry_no_free_values(sms):
    _, double, notices = sms
    with pytest.raises(NoticeRefused):
        await notices.send(kind="lesson", phone=GRANDMA, params={"name": "王奶奶"})
    with pytest.raises(NoticeRefused):
        await notices.send(kind="sign_in_code", phone=GRANDMA, params={"code": "孩子喝了农药"})
    with pytest.raises(NoticeRefused):
        await notices.send(kind="alert", phone=GRANDMA)
    assert double.sent == []


async def test_receipts_are_recorded_by_provider_id_once(sms, sessionmaker, clock):
    settings, double, notices = sms
    await notices.send(kind="sign_in_code", phone=GRANDMA, params={"code": "246810"})
    app = build_app(settings=settings, sessionmaker=sessionmaker, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        assert (await client.post("/aliyun/receipts/wrong", json=double.receipts())).status_code == 404
        bad = await client.post(f"/aliyun/receipts/{RECEIPT_TOKEN}", json={"not": "a list"})
        assert bad.status_code == 400
        ok = await client.post(f"/aliyun/receipts/{RECEIPT_TOKEN}", json=double.receipts())
        assert ok.status_code == 200 and ok.json()["code"] == 0
        again = await client.post(f"/aliyun/receipts/{RECEIPT_TOKEN}",
                                  json=double.receipts(delivered=False, err_code="MK:0001"))
        assert again.json()["code"] == 0
    [row] = await _rows(sessionmaker)
    assert (row.state, row.receipt_code) == ("delivered", "DELIVERED")  # the repeated push changed nothing


@pytest.mark.parametrize(("breakage", "status", "code", "problem"), [
    ({"phone": "+8612000000000"}, "blocked", "isv.MOBILE_NUMBER_ILLEGAL", False),
    ({"template": "SMS_404"}, "permanent", "isv.SMS_TEMPLATE_ILLEGAL", True),
    ({"sign": "别人的签名"}, "permanent", "isv.SMS_SIGNATURE_ILLEGAL", True),
    ({"template_text": "验证码${code}，${minutes}分钟内有效"}, "permanent", "isv.TEMPLATE_PARAMS_ILLEGAL", True),
    ({"balance": 0}, "rate_limited", "isv.AMOUNT_NOT_ENOUGH", True),
    ({"secret": "wrong"}, "permanent", "SignatureDoesNotMatch", True),
])
async def test_each_error_class_maps_to_an_outcome(settings, sessionmaker, clock, breakage, status, code, problem):
    overrides = {}
    if "template" in breakage:
        overrides["sms_templates"] = {"sign_in_code": {"code": breakage["template"], "text": "x${code}"}}
    if "sign" in breakage:
        overrides["sms_sign_name"] = breakage["sign"]
    if "secret" in breakage:
        overrides["sms_access_key_secret"] = breakage["secret"]
    s = sms_settings(settings, **overrides)
    double = make_double(clock)
    if "template_text" in breakage:
        double.templates["SMS_900001"] = breakage["template_text"]
    if "balance" in breakage:
        double.balance = breakage["balance"]
    notices = make_notices(s, double, sessionmaker, clock)
    outcome = await notices.send(kind="sign_in_code", phone=breakage.get("phone", GRANDMA), params={"code": "135790"})
    assert (outcome.status, outcome.error) == (status, code)
    assert double.sent == []
    [row] = await _rows(sessionmaker)
    assert row.state == {"permanent": "failed"}.get(status, status) and row.segments == 0  # not billed
    async with sessionmaker() as session:
        problems = await channel_problems(session)
    assert ("sms" in problems) is problem
    if problem:
        assert problems["sms"]["code"] == code and problems["sms"]["detail"]
        # Fixed: the next send that goes through clears it.
        healthy = make_notices(sms_settings(settings), make_double(clock), sessionmaker, clock)
        clock.advance(minutes=2)
        assert (await healthy.send(kind="sign_in_code", phone=GRANDMA, params={"code": "135790"})).status == "sent"
        async with sessionmaker() as session:
            assert await channel_problems(session) == {}


def test_flow_control_pauses_by_its_window():
    assert outcome_for("isv.BUSINESS_LIMIT_CONTROL", "触发分钟级流控Permits:1").retry_after == 60
    assert outcome_for("isv.BUSINESS_LIMIT_CONTROL", "触发小时级流控Permits:5").retry_after == 3600
    assert outcome_for("isv.BUSINESS_LIMIT_CONTROL", "触发天级流控Permits:10").retry_after == 86400
    assert outcome_for("isp.SYSTEM_ERROR").status == "transient"


async def test_per_number_limits_ours_and_the_providers(sms, settings, clock):
    s, double, notices = sms
    await notices.send(kind="sign_in_code", phone=GRANDMA, params={"code": "111111"})
    with pytest.raises(NoticeDeferred) as deferred:
        await notices.send(kind="sign_in_code", phone=GRANDMA, params={"code": "222222"})
    assert deferred.value.reason == "number_limit" and deferred.value.until == clock() + timedelta(minutes=1)
    # The provider enforces the same limit: straight to the gateway, it answers flow control.
    gateway = make_gateway(s, double, clock)
    direct = Notice(kind="sign_in_code", phone=GRANDMA, sign_name="守望",
                    template=Template("SMS_900001", ""), params={"code": "333333"}, out_id="x1")
    outcome = await gateway.send_notice(direct)
    assert (outcome.status, outcome.retry_after) == ("rate_limited", 60)
    # Five an hour, then ten a day.
    for _ in range(4):
        clock.advance(minutes=1, seconds=1)
        assert (await notices.send(kind="sign_in_code", phone=GRANDMA, params={"code": "444444"})).status == "sent"
    clock.advance(minutes=1, seconds=1)
    with pytest.raises(NoticeDeferred) as hourly:
        await notices.send(kind="sign_in_code", phone=GRANDMA, params={"code": "555555"})
    assert hourly.value.until > clock() + timedelta(minutes=50)
    assert len(double.sent) == 5


async def test_quiet_hours_hold_notices_but_not_sign_in_codes(sms, session, sessionmaker, clock):
    _, double, notices = sms
    village = await seed_village(session, now=clock())
    village.grandma.phone = GRANDMA
    await session.commit()
    clock.set(clock().replace(hour=15))  # 23:00 in Shanghai
    with pytest.raises(NoticeDeferred) as deferred:
        await notices.send(kind="lesson", phone=GRANDMA, guardian_id=village.grandma.id, cohort_id=village.cohort.id)
    assert deferred.value.reason == "quiet_hours" and deferred.value.until.hour == 0  # 08:00 in Shanghai
    code = await notices.send(kind="sign_in_code", phone=GRANDMA, params={"code": "123456"},
                              guardian_id=village.grandma.id)
    assert code.status == "sent" and len(double.sent) == 1


async def test_messenger_port_for_outbox_rows_and_cost_per_cohort(sms, session, sessionmaker, clock):
    from core.endpoints.service import add_endpoint

    settings, double, notices = sms
    village = await seed_village(session, now=clock())
    await add_endpoint(session, address=f"sms:{GRANDMA}", guardian_id=village.grandma.id, now=clock())
    await session.commit()
    cohort_id, grandma_id = village.cohort.id, village.grandma.id

    messenger = SmsMessenger(notices)
    sent = await messenger.deliver(Outgoing(delivery_id=7, address=f"sms:{GRANDMA}", kind="lesson", locale="zh-Hans"))
    assert sent.status == "sent" and sent.message_id
    assert double.sent[-1].template_code == "SMS_900002" and double.sent[-1].params == {}
    async with sessionmaker() as s:
        message = await s.scalar(select(SmsMessage).where(SmsMessage.delivery_id == 7))
        assert message is not None and message.guardian_id == grandma_id
    card = await messenger.deliver(Outgoing(delivery_id=8, address=f"sms:{GRANDMA}", kind="alert", locale="zh-Hans"))
    assert card.status == "permanent" and card.error == "no SMS notice for alert"  # never an SMS
    nobody = await messenger.deliver(Outgoing(delivery_id=9, address="sms:999", kind="lesson", locale="zh-Hans"))
    assert nobody.status == "blocked"
    clock.advance(minutes=2)
    await notices.send(kind="sign_in_code", phone=GRANDMA, params={"code": "123456"}, guardian_id=grandma_id)
    async with sessionmaker() as s:
        [cost] = await cost_by_cohort(s, since=clock() - timedelta(days=1), until=clock() + timedelta(seconds=1),
                                      price=settings.sms_segment_price)
    assert (cost.cohort_id, cost.messages, cost.segments) == (cohort_id, 2, 2)
    assert cost.cost == pytest.approx(0.09)


async def test_healthz_shows_a_broken_sms_setup(settings, sessionmaker, clock):
    from api.main import create_app

    s = sms_settings(settings, sms_templates={"sign_in_code": {"code": "SMS_404", "text": "x${code}"}})
    notices = make_notices(s, make_double(clock), sessionmaker, clock)
    await notices.send(kind="sign_in_code", phone=GRANDMA, params={"code": "135790"})
    app = create_app(settings=s, sessionmaker=sessionmaker, clock=clock)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t") as client:
        body = (await client.get("/healthz")).json()
    assert body["status"] == "degraded"
    assert body["channels"]["sms"]["code"] == "isv.SMS_TEMPLATE_ILLEGAL"
    assert "template" in body["channels"]["sms"]["detail"]


async def test_an_sms_address_names_its_guardian_and_cohort(session, clock):
    from core.endpoints.service import add_endpoint
    from core.sms.recipients import guardian_at_sms

    village = await seed_village(session, now=clock())
    await add_endpoint(session, address=f"sms:{GRANDMA}", guardian_id=village.grandma.id, now=clock())
    assert await guardian_at_sms(session, address=f"sms:{GRANDMA}") == (village.grandma.id, village.cohort.id)
    assert await guardian_at_sms(session, address="sms:+8613000000000") is None


async def test_the_composition_root_builds_sms_only_when_configured(settings, sessionmaker, clock):
    from fastapi import FastAPI

    from channels.sms.messenger import SmsNotices
    from channels.sms.wiring import build_sms

    bare = FastAPI()
    assert build_sms(settings, sessionmaker, bare) is None
    assert not any(getattr(r, "path", "") == "/channels/sms" for r in bare.routes)
    app = FastAPI()
    notices = build_sms(sms_settings(settings), sessionmaker, app, clock=clock)
    assert isinstance(notices, SmsNotices)
    assert any(getattr(r, "path", "") == "/channels/sms" for r in app.routes)  # the receipt route
    await notices.gateway.close()


@pytest.mark.parametrize(("breakage", "code"), [
    ({"sms_templates": {"lesson": {"code": "SMS_404", "text": "x"}}}, "isv.SMS_TEMPLATE_ILLEGAL"),
    ({"sms_sign_name": "别人的签名"}, "isv.SMS_SIGNATURE_ILLEGAL"),
])
async def test_a_permanent_sms_refusal_moves_the_message_to_the_next_endpoint(settings, sessionmaker, clock,
                                                                              breakage, code):
    """The provider refuses the template or the signature (a set-up problem, not the person): the
    production sender moves the row to the guardian's next endpoint, which gets it."""
    from core.delivery.channels import ByChannel
    from core.delivery.outbox import enqueue
    from core.endpoints.service import add_endpoint
    from core.models import Delivery, Endpoint
    from tests.core.outbox_fixtures import ScriptedMessenger
    from tests.core.test_outbox import make_sender

    s = sms_settings(settings, **breakage)
    double = make_double(clock)
    async with sessionmaker() as session, session.begin():
        village = await seed_village(session, now=clock())
        grandma_id = village.grandma.id
        telegram_address = (await session.scalars(select(Endpoint.address).where(
            Endpoint.guardian_id == grandma_id))).one()
        await add_endpoint(session, address=f"sms:{GRANDMA}", guardian_id=grandma_id, now=clock(), rank=0)
        await enqueue(session, address=f"sms:{GRANDMA}", kind="campaign", ref="campaign:1", cycle="1", lane=2,
                      due_at=clock(), now=clock(), guardian_id=grandma_id, payload={"text": "hi", "locale": "zh-Hans"})
    telegram = ScriptedMessenger()
    sender = make_sender(sessionmaker, ByChannel({"sms": SmsMessenger(make_notices(s, double, sessionmaker, clock)),
                                                  "telegram": telegram}), clock)
    await sender.drain_once()
    async with sessionmaker() as session:
        [row] = (await session.scalars(select(Delivery))).all()
        assert (row.address, row.state) == (telegram_address, "pending")
        assert row.last_error == "permanent at sms"
        sms_endpoint = await session.scalar(select(Endpoint).where(Endpoint.address == f"sms:{GRANDMA}"))
        assert sms_endpoint.state == "active"  # the number is fine: the next notice may go by SMS again
        problems = await channel_problems(session)
    assert double.sent == [] and problems["sms"]["code"] == code
    clock.advance(seconds=1)
    await sender.drain_once()
    assert [o.address for o in telegram.sent] == [telegram_address]
    async with sessionmaker() as session:
        [row] = (await session.scalars(select(Delivery))).all()
    assert (row.address, row.state) == (telegram_address, "sent")


async def test_a_worker_builds_the_sms_messenger_only_when_sms_is_configured(settings, sessionmaker):
    """cli/roles.py: the worker's sender (built as production builds it) has an "sms" adapter when
    the settings name an SMS account, and none when they do not."""
    from channels.sms.messenger import SmsMessenger
    from cli.roles import build_sender, channel_messengers
    from core.delivery.channels import ByChannel

    assert channel_messengers(settings, sessionmaker) == {}
    for missing in ("sms_access_key_id", "sms_access_key_secret", "sms_sign_name"):
        assert channel_messengers(sms_settings(settings, **{missing: None}), sessionmaker) == {}
    configured = sms_settings(settings)
    sender = build_sender(configured, sessionmaker, ByChannel(channel_messengers(configured, sessionmaker)))
    adapters = sender.messenger.messengers
    assert set(adapters) == {"sms"} and isinstance(adapters["sms"], SmsMessenger)
    await adapters["sms"].notices.gateway.close()
