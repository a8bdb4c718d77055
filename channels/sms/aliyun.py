"""Aliyun SMS (Dysmsapi, API version 2017-05-25), SendSms over its documented RPC HTTP API.

Why httpx and not the `alibabacloud-dysmsapi20170525` SDK: the SDK brings its own runtime
(Tea/darabonba, alibabacloud-credentials, endpoint-util and their HTTP stack, about ten
packages) for what is one signed request; its signing scheme changes between releases, and a
local double then has to follow whichever one is installed. The RPC API and its signature
(HMAC-SHA1, SignatureVersion 1.0) are documented and stable; httpx is already a dependency and
its ASGI transport lets the tests drive the client against the double in-process.

Errors come back inside the JSON body (`Code` other than "OK", often with HTTP 200): read them
here and turn them into the port's outcomes in one function, `outcome_for`."""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import logging
import uuid
from datetime import datetime, timezone
from urllib.parse import quote

import httpx

from core.clock import Clock, system_clock
from core.sms.notices import Notice
from core.sms.port import NoticeOutcome

log = logging.getLogger(__name__)

API_VERSION = "2017-05-25"


def percent_encode(value: str) -> str:
    """RFC 3986 as the signature wants it: unreserved characters kept, space as %20, ~ kept."""
    return quote(value, safe="-_.~")


def string_to_sign(method: str, params: dict[str, str]) -> str:
    canonical = "&".join(f"{percent_encode(k)}={percent_encode(v)}" for k, v in sorted(params.items()))
    return f"{method}&{percent_encode('/')}&{percent_encode(canonical)}"


def signature(method: str, params: dict[str, str], secret: str) -> str:
    digest = hmac.new(f"{secret}&".encode(), string_to_sign(method, params).encode(), hashlib.sha1).digest()
    return base64.b64encode(digest).decode()


def timestamp(at: datetime) -> str:
    return at.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def national_number(phone: str) -> str:
    """Aliyun takes mainland numbers without the country code, others as 00<cc><number>."""
    if phone.startswith("+86"):
        return phone[3:]
    return "00" + phone.lstrip("+")


# Codes whose cause is the channel's set-up, not the recipient: an operator must act, and
# /healthz says which. Texts are for operators (English), never shown to a guardian.
_SETUP = {
    "isv.SMS_TEMPLATE_ILLEGAL": "the SMS template is not approved or does not belong to this account",
    "isv.SMS_SIGNATURE_ILLEGAL": "the SMS signature is not approved or does not belong to this account",
    "isv.SMS_SIGN_ILLEGAL": "the SMS signature is not approved or does not belong to this account",
    "isv.TEMPLATE_PARAMS_ILLEGAL": "a template parameter does not match what the template was approved with",
    "isv.TEMPLATE_MISSING_PARAMETERS": "the template needs a parameter we did not send",
    "isv.INVALID_JSON_PARAM": "TemplateParam is not valid JSON",
    "isv.PARAM_LENGTH_LIMIT": "a template parameter is too long",
    "isv.OUT_OF_SERVICE": "the SMS account is suspended",
    "isv.ACCOUNT_NOT_EXISTS": "the SMS account does not exist",
    "isv.ACCOUNT_ABNORMAL": "the SMS account is abnormal",
    "isv.PRODUCT_UN_SUBSCRIPT": "the SMS service is not activated on this account",
    "InvalidAccessKeyId.NotFound": "the SMS access key id is unknown (SHOUWANG_SMS_ACCESS_KEY_ID)",
    "SignatureDoesNotMatch": "the SMS access key secret is wrong (SHOUWANG_SMS_ACCESS_KEY_SECRET)",
    "isv.BLACK_KEY_CONTROL_LIMIT": "the template contains a word the provider blocks",
}
_LIMIT_PAUSE = {"分钟": 60.0, "minute": 60.0, "小时": 3600.0, "hour": 3600.0, "天": 86400.0, "day": 86400.0}


def outcome_for(code: str, message: str = "", biz_id: str | None = None) -> NoticeOutcome:
    """The provider's answer as the port's outcome (the single place that reads its codes)."""
    if code == "OK":
        return NoticeOutcome(status="sent", provider_id=biz_id)
    if code in ("isv.MOBILE_NUMBER_ILLEGAL", "isv.MOBILE_COUNT_OVER_LIMIT"):
        return NoticeOutcome(status="blocked", error=code)  # this number can never get an SMS
    if code == "isv.BUSINESS_LIMIT_CONTROL":
        # Per-number flow control: the message says which window ("触发分钟级流控Permits:1").
        pause = next((s for word, s in _LIMIT_PAUSE.items() if word in message.lower()), 60.0)
        return NoticeOutcome(status="rate_limited", retry_after=pause, error=code)
    if code == "isv.DAY_LIMIT_CONTROL":
        return NoticeOutcome(status="rate_limited", retry_after=86400.0, error=code)
    if code in ("Throttling.User", "Throttling", "isv.THROTTLING"):
        return NoticeOutcome(status="rate_limited", retry_after=1.0, error=code)
    if code == "isv.AMOUNT_NOT_ENOUGH":
        # Nothing is lost: the notice waits (an hour at a time) until the account is topped up.
        return NoticeOutcome(status="rate_limited", retry_after=3600.0, error=code,
                             problem="the SMS account has no balance left: top it up")
    if code in _SETUP:
        return NoticeOutcome(status="permanent", error=code, problem=_SETUP[code])
    if code.startswith("isp.") or code in ("ServiceUnavailable", "InternalError"):
        return NoticeOutcome(status="transient", error=code)
    return NoticeOutcome(status="permanent", error=code[:60] or "unknown")


class AliyunSms:
    """Implements core.sms.port.NoticeGateway. One signed POST per notice."""

    def __init__(self, *, access_key_id: str, access_key_secret: str, endpoint: str, region: str = "cn-hangzhou",
                 http: httpx.AsyncClient | None = None, clock: Clock = system_clock, timeout: float = 10.0) -> None:
        self.key_id = access_key_id
        self.secret = access_key_secret
        self.endpoint = endpoint.rstrip("/") + "/"
        self.region = region
        self.clock = clock
        self.http = http or httpx.AsyncClient(timeout=timeout)

    def signed_params(self, notice: Notice) -> dict[str, str]:
        params = {
            "AccessKeyId": self.key_id, "Action": "SendSms", "Format": "JSON", "RegionId": self.region,
            "SignatureMethod": "HMAC-SHA1", "SignatureNonce": uuid.uuid4().hex, "SignatureVersion": "1.0",
            "Timestamp": timestamp(self.clock()), "Version": API_VERSION,
            "PhoneNumbers": national_number(notice.phone), "SignName": notice.sign_name,
            "TemplateCode": notice.template.code, "OutId": notice.out_id,
        }
        if notice.params:
            params["TemplateParam"] = json.dumps(notice.params, ensure_ascii=False, separators=(",", ":"))
        params["Signature"] = signature("POST", params, self.secret)
        return params

    async def send_notice(self, notice: Notice) -> NoticeOutcome:
        try:
            response = await self.http.post(self.endpoint, data=self.signed_params(notice))
        except httpx.HTTPError as exc:
            return NoticeOutcome(status="transient", error=type(exc).__name__)
        try:
            body = response.json()
        except ValueError:
            body = {}
        code = str(body.get("Code") or "")
        if not code:
            status = "transient" if response.status_code >= 500 or response.status_code == 429 else "permanent"
            return NoticeOutcome(status=status, error=f"http_{response.status_code}")
        outcome = outcome_for(code, str(body.get("Message") or ""), body.get("BizId"))
        if outcome.status != "sent":
            log.warning("sms %s refused: %s (request %s)", notice.kind, code, body.get("RequestId"))
        return outcome

    async def close(self) -> None:
        await self.http.aclose()
