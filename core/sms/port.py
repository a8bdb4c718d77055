"""The port an SMS provider adapter implements: hand one templated notice over, get an outcome
in the same vocabulary as core.ports.SendOutcome (sent / rate_limited / blocked / transient /
permanent) plus what SMS adds: the provider's id and a problem an operator must fix."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from core.ports import SendStatus
from core.sms.notices import Notice


@dataclass(frozen=True)
class NoticeOutcome:
    status: SendStatus
    provider_id: str | None = None  # Aliyun's BizId
    retry_after: float | None = None  # seconds, for rate_limited
    error: str | None = None  # the provider's code, never the text
    # Set when the channel itself is broken (template or signature refused, no balance, bad
    # credentials): shown on /healthz until a send succeeds again.
    problem: str | None = None


class NoticeGateway(Protocol):
    async def send_notice(self, notice: Notice) -> NoticeOutcome: ...


class NoticeSender(Protocol):
    """What the pages hold to send a notice now (channels.sms.messenger.SmsNotices): core's
    checks and bookkeeping around a gateway. Raises core.sms.notices.NoticeRefused or
    core.sms.service.NoticeDeferred."""

    async def send(self, *, kind: str, phone: str, params: dict[str, str] | None = None,
                   guardian_id: int | None = None, cohort_id: int | None = None,
                   delivery_id: int | None = None) -> NoticeOutcome: ...
