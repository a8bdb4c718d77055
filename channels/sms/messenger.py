"""The SMS channel behind core's ports.

`SmsNotices` sends one notice now (the sign-in code, a notice the web asks for) through the
provider gateway, with core's checks and bookkeeping (core.sms.service.deliver_notice).

`SmsMessenger` implements core.ports.Messenger for outbox rows: an outbox kind becomes a notice
kind (a lesson → "a lesson is ready", a check-in → "a check-in is open" …; anything else has no
SMS template: it is declared unsupported in the capabilities, so the sender moves such a row to the
person's next endpoint without asking; should one arrive anyway it is refused as permanent with its
reason, so it never turns into free text). The number is the row's address (sms:+86…);
provider refusals arrive already mapped (an invalid number → blocked, flow control → rate_limited)."""
from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.clock import Clock, system_clock
from core.config import Settings
from core.endpoints.service import local_id
from core.errors import Invalid
from core.people import clean_phone
from core.messages import MessageKind
from core.ports import Capabilities, Outgoing, SendOutcome
from core.sms import notices
from core.sms.notices import NoticeRefused
from core.sms.port import NoticeGateway, NoticeOutcome
from core.sms.recipients import guardian_at_sms
from core.sms.service import NoticeDeferred, deliver_notice
from core.webauth.keys import keyed_hash, load_secret

# Outbox kinds that have an SMS notice; everything else (alert cards, free text) does not.
NOTICE_FOR_KIND: dict[MessageKind, str] = {
    MessageKind.LESSON: notices.LESSON, MessageKind.CAMPAIGN: notices.LESSON, MessageKind.LESSON_FOLLOWUP: notices.LESSON,
    MessageKind.CHECKIN: notices.CHECKIN, MessageKind.CHECKIN_REMINDER: notices.REMINDER,
    MessageKind.INBOX_RELAY: notices.REPLY,
}

# A notice is a fixed, registered template of about 70 characters (one SMS) pointing to the
# mobile pages: no edits, no buttons, no media; the kinds without a template are not carried.
CAPABILITIES = Capabilities(can_edit=False, buttons=False, max_text=70, media=frozenset(), reply_window=None,
                            unsupported=frozenset(set(MessageKind) - set(NOTICE_FOR_KIND)))


class SmsNotices:
    def __init__(self, *, gateway: NoticeGateway, settings: Settings,
                 sessionmaker: async_sessionmaker[AsyncSession], clock: Clock = system_clock) -> None:
        self.gateway = gateway
        self.settings = settings
        self.sessionmaker = sessionmaker
        self.clock = clock
        self.secret = load_secret(settings)

    async def send(self, *, kind: str, phone: str, params: dict[str, str] | None = None,
                   guardian_id: int | None = None, cohort_id: int | None = None,
                   delivery_id: int | None = None) -> NoticeOutcome:
        """NoticeRefused / NoticeDeferred propagate: the caller decides what to say."""
        if not self.settings.sms_sign_name:
            raise NoticeRefused("no SMS signature configured (SHOUWANG_SMS_SIGN_NAME)")
        return await deliver_notice(
            self.sessionmaker, self.gateway, now=self.clock(), kind=kind, phone=phone,
            phone_hash=keyed_hash(self.secret, "phone", phone), params=params or {},
            templates=self.settings.sms_templates, sign_name=self.settings.sms_sign_name,
            guardian_id=guardian_id, cohort_id=cohort_id, delivery_id=delivery_id,
        )


class SmsMessenger:
    """core.ports.Messenger over SMS notices."""

    capabilities = CAPABILITIES

    def __init__(self, notices_: SmsNotices) -> None:
        self.notices = notices_

    async def deliver(self, item: Outgoing) -> SendOutcome:
        kind = NOTICE_FOR_KIND.get(item.kind)
        if kind is None:
            return SendOutcome(status="permanent", error=f"no SMS notice for {item.kind}"[:120])
        try:
            phone = clean_phone(local_id(item.address))
        except Invalid:
            return SendOutcome(status="blocked", error="not a mobile number")
        async with self.notices.sessionmaker() as session:
            who = await guardian_at_sms(session, address=item.address)
        try:
            outcome = await self.notices.send(kind=kind, phone=phone, guardian_id=who[0] if who else None,
                                              cohort_id=who[1] if who else None, delivery_id=item.delivery_id)
        except NoticeRefused as exc:
            return SendOutcome(status="permanent", error=str(exc)[:120])
        except NoticeDeferred as exc:
            wait = max(1.0, (exc.until - self.notices.clock()).total_seconds())
            return SendOutcome(status="rate_limited", retry_after=wait, error=exc.reason)
        return SendOutcome(status=outcome.status, message_id=outcome.provider_id, retry_after=outcome.retry_after,
                           error=outcome.error)
