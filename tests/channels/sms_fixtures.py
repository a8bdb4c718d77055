"""The SMS channel wired to the local Aliyun double: approved templates on both sides."""
from __future__ import annotations

import httpx

from channels.sms.aliyun import AliyunSms
from channels.sms.messenger import SmsNotices
from core.config import Settings
from tests.doubles.aliyun_sms import AliyunSmsDouble

TEMPLATE_TEXTS = {
    "SMS_900001": "您的登录验证码是${code}，10分钟内有效。如非本人操作请忽略。",
    "SMS_900002": "本周的家庭小课已更新，请打开守望网页查看。",
    "SMS_900003": "家里有几道新的问题等您回答，请打开守望网页。",
    "SMS_900004": "还有几道问题等您回答，方便时请打开守望网页。",
    "SMS_900005": "儿童主任给您回了话，请打开守望网页查看。",
}
TEMPLATES = {
    "sign_in_code": {"code": "SMS_900001", "text": TEMPLATE_TEXTS["SMS_900001"]},
    "lesson": {"code": "SMS_900002", "text": TEMPLATE_TEXTS["SMS_900002"]},
    "checkin": {"code": "SMS_900003", "text": TEMPLATE_TEXTS["SMS_900003"]},
    "reminder": {"code": "SMS_900004", "text": TEMPLATE_TEXTS["SMS_900004"]},
    "reply": {"code": "SMS_900005", "text": TEMPLATE_TEXTS["SMS_900005"]},
}
RECEIPT_TOKEN = "receipt-token-for-tests"


def sms_settings(settings: Settings, **overrides: object) -> Settings:
    return settings.model_copy(update={
        "sms_access_key_id": "test-key-id", "sms_access_key_secret": "test-key-secret",
        "sms_endpoint": "http://sms.test", "sms_sign_name": "守望", "sms_templates": TEMPLATES,
        "sms_receipt_token": RECEIPT_TOKEN, "web_secret": "web-secret-for-tests", **overrides,
    })


def make_double(clock) -> AliyunSmsDouble:  # type: ignore[no-untyped-def]
    return AliyunSmsDouble(clock=clock, templates=dict(TEMPLATE_TEXTS))


def make_gateway(settings: Settings, double: AliyunSmsDouble, clock) -> AliyunSms:  # type: ignore[no-untyped-def]
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=double))
    return AliyunSms(access_key_id=settings.sms_access_key_id or "", access_key_secret=settings.sms_access_key_secret or "",
                     endpoint=settings.sms_endpoint, http=http, clock=clock)


def make_notices(settings: Settings, double: AliyunSmsDouble, sessionmaker, clock) -> SmsNotices:  # type: ignore[no-untyped-def]
    return SmsNotices(gateway=make_gateway(settings, double, clock), settings=settings, sessionmaker=sessionmaker,
                      clock=clock)
