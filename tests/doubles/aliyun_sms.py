"""A local double of Aliyun SMS (Dysmsapi 2017-05-25, RPC style) that enforces the provider's
documented rules, as an ASGI app (drive it with httpx.ASGITransport, or serve it with uvicorn):

- the request is signed (HMAC-SHA1, SignatureVersion 1.0) with a known AccessKeyId, its
  Timestamp within 15 minutes of the double's clock, its SignatureNonce never seen before;
- Action SendSms, Version 2017-05-25; SignName approved; TemplateCode approved and the
  TemplateParam JSON carries exactly that template's variables;
- PhoneNumbers a mainland mobile number (11 digits starting 1[3-9]);
- flow control per number: 1 a minute, 5 an hour, 10 a day (isv.BUSINESS_LIMIT_CONTROL);
- a balance in segments, spent on submission (isv.AMOUNT_NOT_ENOUGH when empty).

Answers are the provider's JSON ({"Code": "OK", "BizId": …} or {"Code": "isv.…", "Message": …}),
HTTP 200 for business errors, as the provider does. `sent` keeps what was accepted (tests read
the sign-in code from it); `receipts()` builds the SmsReport push body for accepted messages.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from urllib.parse import parse_qsl, quote

MAINLAND = re.compile(r"1[3-9][0-9]{9}")
VARIABLE = re.compile(r"\$\{([A-Za-z0-9_]+)\}")
LIMITS = ((timedelta(minutes=1), 1, "触发分钟级流控Permits:1"), (timedelta(hours=1), 5, "触发小时级流控Permits:5"),
          (timedelta(days=1), 10, "触发天级流控Permits:10"))


def _enc(value: str) -> str:
    return quote(value, safe="-_.~")


def _sign(method: str, params: dict[str, str], secret: str) -> str:
    canonical = "&".join(f"{_enc(k)}={_enc(v)}" for k, v in sorted(params.items()))
    to_sign = f"{method}&{_enc('/')}&{_enc(canonical)}"
    return base64.b64encode(hmac.new(f"{secret}&".encode(), to_sign.encode(), hashlib.sha1).digest()).decode()


@dataclass
class Sent:
    phone: str
    sign_name: str
    template_code: str
    params: dict[str, str]
    out_id: str | None
    biz_id: str
    at: datetime
    segments: int

    @property
    def text(self) -> str:
        return self.params.get("code", "")


@dataclass
class AliyunSmsDouble:
    clock: Callable[[], datetime]
    keys: dict[str, str] = field(default_factory=lambda: {"test-key-id": "test-key-secret"})
    signs: set[str] = field(default_factory=lambda: {"守望"})
    # TemplateCode → approved text (its ${variables} are what TemplateParam must carry).
    templates: dict[str, str] = field(default_factory=dict)
    balance: int = 1000  # segments
    sent: list[Sent] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)  # the Codes answered, in order
    nonces: set[str] = field(default_factory=set)
    _next: int = 100000

    def code_for(self, phone: str) -> str:
        """The last sign-in code sent to a number (as a person reads it off their phone)."""
        national = phone[3:] if phone.startswith("+86") else phone
        return next(s.params["code"] for s in reversed(self.sent) if s.phone == national and "code" in s.params)

    def receipts(self, *, delivered: bool = True, err_code: str = "DELIVERED") -> list[dict]:
        return [{"phone_number": s.phone[:3] + "****" + s.phone[-4:], "send_time": s.at.strftime("%Y-%m-%d %H:%M:%S"),
                 "report_time": self.clock().strftime("%Y-%m-%d %H:%M:%S"), "success": delivered,
                 "err_code": err_code if not delivered else "DELIVERED",
                 "err_msg": "用户接收成功" if delivered else "失败", "sms_size": str(s.segments), "biz_id": s.biz_id,
                 "out_id": s.out_id or ""} for s in self.sent]

    # ------------------------------------------------------------ the rules

    def _answer(self, params: dict[str, str]) -> dict:
        def err(code: str, message: str) -> dict:
            self.refused.append(code)
            return {"Code": code, "Message": message, "RequestId": f"req-{len(self.refused)}"}

        secret = self.keys.get(params.get("AccessKeyId", ""))
        if secret is None:
            return err("InvalidAccessKeyId.NotFound", "Specified access key is not found.")
        given = params.pop("Signature", "")
        if params.get("SignatureMethod") != "HMAC-SHA1" or params.get("SignatureVersion") != "1.0" \
                or not hmac.compare_digest(given, _sign("POST", params, secret)):
            return err("SignatureDoesNotMatch", "Specified signature is not matched with our calculation.")
        try:
            at = datetime.strptime(params.get("Timestamp", ""), "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=timezone.utc)
        except ValueError:
            return err("InvalidTimeStamp.Format", "Specified time stamp or date value is not well formatted.")
        if abs((self.clock() - at).total_seconds()) > 900:
            return err("InvalidTimeStamp.Expired", "Specified time stamp or date value is expired.")
        nonce = params.get("SignatureNonce", "")
        if not nonce or nonce in self.nonces:
            return err("SignatureNonceUsed", "Specified signature nonce was used already.")
        self.nonces.add(nonce)
        if params.get("Action") != "SendSms" or params.get("Version") != "2017-05-25":
            return err("InvalidAction.NotFound", "Specified api is not found.")
        if params.get("SignName") not in self.signs:
            return err("isv.SMS_SIGNATURE_ILLEGAL", "该账号下找不到对应签名")
        code = params.get("TemplateCode", "")
        if code not in self.templates:
            return err("isv.SMS_TEMPLATE_ILLEGAL", "该账号下找不到对应模板")
        try:
            values = json.loads(params["TemplateParam"]) if "TemplateParam" in params else {}
        except ValueError:
            return err("isv.INVALID_JSON_PARAM", "JSON参数不合法，只接受字符串值")
        wanted = set(VARIABLE.findall(self.templates[code]))
        if not isinstance(values, dict) or set(values) != wanted or not all(isinstance(v, str) for v in values.values()):
            return err("isv.TEMPLATE_PARAMS_ILLEGAL", "模板变量里包含非法关键字")
        phone = params.get("PhoneNumbers", "")
        if not MAINLAND.fullmatch(phone):
            return err("isv.MOBILE_NUMBER_ILLEGAL", "非法手机号")
        now = self.clock()
        for window, allowed, message in LIMITS:
            if sum(1 for s in self.sent if s.phone == phone and s.at > now - window) >= allowed:
                return err("isv.BUSINESS_LIMIT_CONTROL", message)
        text = f"【{params['SignName']}】" + VARIABLE.sub(lambda m: values[m.group(1)], self.templates[code])
        segments = 1 if len(text) <= 70 else math.ceil(len(text) / 67)
        if self.balance < segments:
            return err("isv.AMOUNT_NOT_ENOUGH", "账户余额不足")
        self.balance -= segments
        self._next += 1
        biz_id = f"{self._next}^0"
        self.sent.append(Sent(phone, params["SignName"], code, values, params.get("OutId"), biz_id, now, segments))
        return {"Code": "OK", "Message": "OK", "BizId": biz_id, "RequestId": f"req-ok-{self._next}"}

    # ------------------------------------------------------------ ASGI

    async def __call__(self, scope, receive, send) -> None:  # type: ignore[no-untyped-def]
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        params = dict(parse_qsl(body.decode(), keep_blank_values=True))
        params.update(dict(parse_qsl(scope.get("query_string", b"").decode(), keep_blank_values=True)))
        payload = json.dumps(self._answer(params), ensure_ascii=False).encode()
        await send({"type": "http.response.start", "status": 200,
                    "headers": [(b"content-type", b"application/json;charset=utf-8")]})
        await send({"type": "http.response.body", "body": payload})
