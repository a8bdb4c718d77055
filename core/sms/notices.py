"""The notice kinds an SMS may carry and their parameters. Every SMS is a template approved by
the provider with a fixed link; the only per-recipient value any template takes is the sign-in
code — never a name, a score or a word about risk (a shared phone may be read by anyone)."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass

SIGN_IN_CODE = "sign_in_code"
LESSON = "lesson"  # a lesson is ready
CHECKIN = "checkin"  # a check-in is open
REMINDER = "reminder"  # a gentle reminder of an open check-in
REPLY = "reply"  # the child director wrote back
KINDS = (SIGN_IN_CODE, LESSON, CHECKIN, REMINDER, REPLY)
# Notices respect the guardian's quiet hours; a code they are waiting for right now does not.
IGNORES_QUIET_HOURS = frozenset({SIGN_IN_CODE})
# The parameters each kind's template takes, and what each value must look like.
PARAMS: dict[str, dict[str, re.Pattern[str]]] = {
    SIGN_IN_CODE: {"code": re.compile(r"[0-9]{6}")},
    LESSON: {}, CHECKIN: {}, REMINDER: {}, REPLY: {},
}

SINGLE, PART = 70, 67  # characters per SMS; per part of a long (concatenated) SMS


class NoticeRefused(ValueError):
    """A notice that must not go out as asked (an unknown kind, a parameter it may not carry)."""


@dataclass(frozen=True)
class Template:
    code: str  # the provider's template id (SMS_123456789)
    text: str  # the approved text without the signature, ${name} for parameters


@dataclass(frozen=True)
class Notice:
    """One templated SMS, ready for the gateway."""

    kind: str
    phone: str  # E.164
    sign_name: str
    template: Template
    params: dict[str, str]
    out_id: str  # ours; comes back in the receipt

    @property
    def text(self) -> str:
        """What the phone shows: the signature in 【】 and the template with its values."""
        body = self.template.text
        for name, value in self.params.items():
            body = body.replace("${" + name + "}", value)
        return f"【{self.sign_name}】{body}"

    @property
    def segments(self) -> int:
        return segments(self.text)


def segments(text: str) -> int:
    """Billed SMS for a text (signature included): one up to 70 characters, else 67 per part.
    Every character counts one, Chinese or not (the provider's published rule)."""
    n = len(text)
    return 1 if n <= SINGLE else math.ceil(n / PART)


def check_params(kind: str, params: dict[str, str]) -> dict[str, str]:
    """The parameters, if this kind's template may carry exactly them; NoticeRefused otherwise."""
    if kind not in PARAMS:
        raise NoticeRefused(f"unknown notice kind {kind!r}")
    allowed = PARAMS[kind]
    if set(params) != set(allowed):
        raise NoticeRefused(f"{kind} takes {sorted(allowed)}, not {sorted(params)}")
    for name, pattern in allowed.items():
        if not pattern.fullmatch(params[name]):
            raise NoticeRefused(f"{kind}: {name} is not in its allowed form")
    return dict(params)


def template_for(templates: dict[str, dict[str, str]], kind: str) -> Template:
    spec = templates.get(kind)
    if not spec or not spec.get("code"):
        raise NoticeRefused(f"no SMS template configured for {kind} (SHOUWANG_SMS_TEMPLATES)")
    return Template(code=spec["code"], text=spec.get("text", ""))
