"""The message catalogue: every kind of outbox row, and what an adapter finds in its content.

`MessageKind` is the one list of what core can ask a channel to show. Its values are the strings
stored in `deliveries.kind` (and in the outbox's unique key), so rows written before the enum
read back unchanged. `Outgoing.content` (core.ports) is the row's payload merged with what the
domains' resolvers fill in just before it goes (core.delivery.hooks); `PAYLOADS` maps each kind
to a TypedDict of that content, so an adapter reads it as `content_of(item, LessonPayload)`
and mypy checks the keys it touches. The content stays plain JSON: a card travels as its
`as_payload()` dict and the adapter turns it back with the view's `from_payload`
(core.alerts.views.AlertCard, core.inbox.views.InboxCard, core.checkin.views.QuestionView,
core.checkin.safety.SafetyMessage); those live in the domains above this module, so the
TypedDicts name them only in comments. (No `from __future__ import annotations` here: TypedDict
must see NotRequired[...] itself to tell required keys from optional ones.)

This module imports nothing from core: the sender (core.delivery) and every domain may use it."""
from enum import StrEnum
from typing import Any, NotRequired, TypedDict, TypeVar, cast


class MessageKind(StrEnum):
    # lessons (lane 2)
    LESSON = "lesson"
    LESSON_FOLLOWUP = "lesson_followup"  # "did you try it?" a day after a lesson
    CAMPAIGN = "campaign"  # a cohort's one-off broadcast: a lesson or its own text
    # check-ins (lane 1) and the safety message (lane 0)
    CHECKIN = "checkin"  # the question a guardian is at
    CHECKIN_REMINDER = "checkin_reminder"
    CHECKIN_CLOSED = "checkin_closed"  # the window ended unanswered
    CHECKIN_TAKEN = "checkin_taken"  # an edit of another guardian's question: someone is answering / answered
    SAFETY = "safety"  # what to do now, after a worrying answer
    # to staff about alerts
    ALERT = "alert"  # a new or escalated alert card, with its action buttons
    ALERT_UPDATE = "alert_update"  # an edit of a card already sent: where the alert stands now
    ALERT_REMINDER = "alert_reminder"
    ALERT_NEWS = "alert_news"  # a new occurrence joined an open alert
    FOLLOWUP_RESULT = "followup_result"  # a case's follow-up check-in came back
    HOUSEHOLD_LEFT = "household_left"
    GUARDIAN_LEFT = "guardian_left"  # one guardian stopped or was erased; the household stays
    INVITE_USED = "invite_used"  # to the guardian who invited: the other joined
    # the inbox
    INBOX_FORWARD = "inbox_forward"  # to a director: the guardian's message copied, then the card
    INBOX_UPDATE = "inbox_update"  # an edit of a card already sent: where the item stands now
    INBOX_DIGEST = "inbox_digest"
    INBOX_RELAY = "inbox_relay"  # a director's reply, to the guardian
    INBOX_NOTICE = "inbox_notice"  # to the guardian: the message could not be shown, what to do
    # the console
    CONSOLE_SIGNIN = "console_signin"  # a sign-in code for the web console


# Kinds that edit a message already on a phone rather than send a new one. Where the channel
# cannot edit (core.ports.Capabilities.can_edit), the sender decides what to do instead.
EDIT_KINDS = frozenset({MessageKind.ALERT_UPDATE, MessageKind.INBOX_UPDATE, MessageKind.CHECKIN_TAKEN})
LESSON_KINDS = frozenset({MessageKind.LESSON, MessageKind.LESSON_FOLLOWUP, MessageKind.CAMPAIGN})

Json = dict[str, Any]


class _Locale(TypedDict):
    locale: NotRequired[str]


class LessonPayload(TypedDict):
    """lesson, and a campaign carrying a lesson: filled from the library (outbox.lesson_content)."""
    title: NotRequired[str]
    body: NotRequired[str]
    try_today: NotRequired[str | None]
    media: NotRequired[dict[str, str]]  # {"image": path, "voice": path}, under the media root
    lesson_id: NotRequired[str | None]


class LessonFollowupPayload(TypedDict):
    title: NotRequired[str]
    lesson_id: NotRequired[str | None]


class CampaignPayload(LessonPayload):
    texts: NotRequired[dict[str, str]]  # locale → text, when the campaign is not a lesson


class CheckinPayload(TypedDict):
    """checkin and checkin_reminder (core.checkin.outgoing.resolve_checkins)."""
    checkin_id: int
    question: Json | None  # QuestionView.as_payload()
    title: NotRequired[str]
    intro: NotRequired[str | None]
    answered: NotRequired[int]
    total: NotRequired[int]
    nickname: NotRequired[str | None]
    reminder: NotRequired[int]


class CheckinClosedPayload(TypedDict):
    checkin_id: int
    nickname: NotRequired[str | None]


class CheckinTakenPayload(TypedDict):
    """An edit of the question another guardian of the family was sent."""
    message_id: str  # the provider's id of the message to edit
    done: bool  # answered (True) or being answered (False)


class SafetyPayload(TypedDict):
    safety: Json  # SafetyMessage.as_payload()


class AlertPayload(_Locale):
    """alert and alert_reminder (core.alerts.outgoing.resolve_staff_messages)."""
    card: Json  # AlertCard.as_payload()
    alert_id: NotRequired[int]
    level: NotRequired[int]
    escalate_local: NotRequired[str]  # "HH:MM", reminders only


class AlertUpdatePayload(AlertPayload):
    message_id: str | int  # the card to edit


class AlertNewsPayload(_Locale):
    card: Json  # AlertCard.as_payload()
    occurrences: NotRequired[int]
    words: NotRequired[str | None]


class FollowupResultPayload(_Locale):
    case_id: int
    check_in_id: NotRequired[int]
    state: NotRequired[str]
    severity: NotRequired[str | None]
    nickname: NotRequired[str | None]


class HouseholdLeftPayload(_Locale):
    household_id: int
    case_ids: NotRequired[list[int]]


class GuardianLeftPayload(_Locale):
    household_id: int
    relationship: NotRequired[str | None]
    how: NotRequired[str]  # "stopped" or "erased"


class InviteUsedPayload(_Locale):
    relationship: NotRequired[str | None]


class InboxForwardPayload(_Locale):
    card: Json  # InboxCard.as_payload()
    copy: NotRequired[dict[str, Any] | None]  # {"from_address": str, "message_id": str}: the message itself
    message_id: NotRequired[int]


class InboxUpdatePayload(_Locale):
    card: Json  # InboxCard.as_payload()
    message_id: str | int  # the card to edit


class InboxDigestPayload(_Locale):
    items: list[Json]  # InboxCard.as_payload() each


class InboxRelayPayload(_Locale):
    director: NotRequired[str | None]
    text: NotRequired[str | None]
    from_address: NotRequired[str]  # with from_message_id: the director's message, copied as it is
    from_message_id: NotRequired[str | int | None]


class InboxNoticePayload(_Locale):
    director: NotRequired[str | None]
    director_phone: NotRequired[str | None]


class ConsoleSigninPayload(_Locale):
    code: str
    minutes: NotRequired[int]
    link: NotRequired[str | None]


PAYLOADS: dict[MessageKind, type] = {
    MessageKind.LESSON: LessonPayload,
    MessageKind.LESSON_FOLLOWUP: LessonFollowupPayload,
    MessageKind.CAMPAIGN: CampaignPayload,
    MessageKind.CHECKIN: CheckinPayload,
    MessageKind.CHECKIN_REMINDER: CheckinPayload,
    MessageKind.CHECKIN_CLOSED: CheckinClosedPayload,
    MessageKind.CHECKIN_TAKEN: CheckinTakenPayload,
    MessageKind.SAFETY: SafetyPayload,
    MessageKind.ALERT: AlertPayload,
    MessageKind.ALERT_UPDATE: AlertUpdatePayload,
    MessageKind.ALERT_REMINDER: AlertPayload,
    MessageKind.ALERT_NEWS: AlertNewsPayload,
    MessageKind.FOLLOWUP_RESULT: FollowupResultPayload,
    MessageKind.HOUSEHOLD_LEFT: HouseholdLeftPayload,
    MessageKind.GUARDIAN_LEFT: GuardianLeftPayload,
    MessageKind.INVITE_USED: InviteUsedPayload,
    MessageKind.INBOX_FORWARD: InboxForwardPayload,
    MessageKind.INBOX_UPDATE: InboxUpdatePayload,
    MessageKind.INBOX_DIGEST: InboxDigestPayload,
    MessageKind.INBOX_RELAY: InboxRelayPayload,
    MessageKind.INBOX_NOTICE: InboxNoticePayload,
    MessageKind.CONSOLE_SIGNIN: ConsoleSigninPayload,
}

P = TypeVar("P")


def content_of(content: dict[str, Any], payload: type[P]) -> P:
    """The content of a row as its kind's payload type, for the type checker: no copy, no check
    at run time (the resolvers fill it; a missing required key is a bug the tests catch)."""
    return cast(P, content)


def missing_keys(kind: MessageKind, content: dict[str, Any]) -> set[str]:
    """The required keys of `kind`'s payload that `content` lacks."""
    return set(getattr(PAYLOADS[kind], "__required_keys__", frozenset())) - set(content)
