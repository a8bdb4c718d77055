"""The message catalogue (core.messages) against every channel adapter: each adapter either renders
a kind or declares it unsupported in its capabilities. A kind added to MessageKind without a
renderer, a declaration or a sample here fails this file. Telegram runs against the mocked Bot
API, SMS against the local Aliyun double."""
from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum
from pathlib import Path
from typing import Any

import pytest
from aiogram.methods import EditMessageText, SendMessage

from bot.i18n import build_i18n, compile_catalogs
from bot.messenger import TelegramMessenger
from channels.sms.messenger import NOTICE_FOR_KIND, SmsMessenger
from tests.channels.testchannel import TestChannel
from core.alerts.views import AlertCard
from core.checkin.safety import SafetyMessage
from core.checkin.views import QuestionView
from core.config import PROJECT_ROOT, Settings
from core.endpoints.service import add_endpoint
from core.inbox.views import InboxCard, ThreadLine
from core.messages import EDIT_KINDS, PAYLOADS, MessageKind, missing_keys
from core.ports import Messenger, Outgoing
from tests.bot.mocked_bot import MockedBot
from tests.channels.sms_fixtures import make_double, make_notices, sms_settings
from tests.core.checkin_fixtures import seed_village

GRANDMA = "+8613812345678"

_CARD = AlertCard(alert_id=4, case_id=9, severity="red", status="open", escalation_level=0, opened_local="11-29 19:12",
                  subject="child", household_id=3, family="Wang family", nickname="Xiaoming", age=9,
                  reason="A worrying answer", answers=[("Is the child safe?", "No")]).as_payload()
_INBOX = InboxCard(item_id=6, state="open", family={"household_id": 3, "label": "Wang family"},
                   received_local="11-29 19:12", subject="child", nickname="Xiaoming",
                   thread=[ThreadLine(id=1, direction="in", kind="text", text="Hello", local="11-29 19:12",
                                      status="new")]).as_payload()
_QUESTION = QuestionView(checkin_id=2, title="Weekly", intro="A few questions", stem=None, index=0, number=1, total=3,
                         text="Did the child eat well?", choices=[(0, "No"), (1, "Yes")]).as_payload()
_LESSON = {"lesson_id": "l1", "version": 1, "title": "Play together", "body": "Ten minutes a day.",
           "try_today": "Ask what they want to play.", "media": {}}

# One realistic content per kind, as the sender hands it to an adapter (payload + resolvers).
SAMPLES: dict[MessageKind, dict[str, Any]] = {
    MessageKind.LESSON: dict(_LESSON),
    MessageKind.LESSON_FOLLOWUP: {"lesson_id": "l1", "title": "Play together"},
    MessageKind.CAMPAIGN: {"texts": {"zh-Hans": "下周六有家长会。", "en": "Parents' meeting on Saturday."}},
    MessageKind.CHECKIN: {"checkin_id": 2, "question": _QUESTION, "title": "Weekly", "answered": 0, "total": 3,
                          "nickname": "Xiaoming"},
    MessageKind.CHECKIN_REMINDER: {"checkin_id": 2, "question": _QUESTION, "answered": 1, "total": 3,
                                   "nickname": "Xiaoming", "reminder": 1},
    MessageKind.CHECKIN_CLOSED: {"checkin_id": 2, "nickname": "Xiaoming"},
    MessageKind.CHECKIN_TAKEN: {"message_id": "55", "done": False},
    MessageKind.SAFETY: {"safety": SafetyMessage(version=1, body="Call {lines}", director="Li",
                                                 lines=[("110", "Police")]).as_payload()},
    MessageKind.ALERT: {"alert_id": 4, "card": _CARD, "level": 0},
    MessageKind.ALERT_UPDATE: {"alert_id": 4, "card": _CARD, "level": 0, "message_id": "56"},
    MessageKind.ALERT_REMINDER: {"alert_id": 4, "card": _CARD, "level": 0, "escalate_local": "21:00"},
    MessageKind.ALERT_NEWS: {"alert_id": 4, "card": _CARD, "occurrences": 2, "words": None},
    MessageKind.FOLLOWUP_RESULT: {"case_id": 9, "check_in_id": 2, "state": "completed", "severity": None,
                                  "nickname": "Xiaoming"},
    MessageKind.HOUSEHOLD_LEFT: {"household_id": 3, "case_ids": [9]},
    MessageKind.GUARDIAN_LEFT: {"household_id": 3, "relationship": "grandmother", "how": "stopped"},
    MessageKind.INVITE_USED: {"relationship": "grandmother"},
    MessageKind.INBOX_FORWARD: {"item_id": 6, "message_id": 1, "card": _INBOX, "copy": None},
    MessageKind.INBOX_UPDATE: {"item_id": 6, "card": _INBOX, "message_id": "57"},
    MessageKind.INBOX_DIGEST: {"item_ids": [6], "items": [_INBOX]},
    MessageKind.INBOX_RELAY: {"item_id": 6, "director": "Li", "text": "I will call you tonight."},
    MessageKind.INBOX_NOTICE: {"item_id": 6, "director": "Li", "director_phone": "13800000000"},
    MessageKind.CONSOLE_SIGNIN: {"code": "123456", "minutes": 15, "link": "https://example.org/s/abc"},
}


async def unhandled_kinds(messenger: Messenger, address: str, kinds: Iterable[MessageKind] = MessageKind,
                          samples: dict[MessageKind, dict[str, Any]] = SAMPLES) -> dict[str, str]:
    """Kind → why: the kinds `messenger` neither declares unsupported nor delivers from a sample
    (a kind with no sample here cannot be shown to be handled, so it counts as unhandled)."""
    problems: dict[str, str] = {}
    for n, kind in enumerate(kinds):
        if kind in messenger.capabilities.unsupported:
            continue
        if kind not in samples:
            problems[kind] = "no sample content in tests/core/test_message_kinds.py"
            continue
        outcome = await messenger.deliver(Outgoing(delivery_id=100 + n, address=address, kind=kind,
                                                   locale="zh-Hans", content=dict(samples[kind])))
        if outcome.status != "sent":
            problems[kind] = f"{outcome.status}: {outcome.error}"
    return problems


def test_every_kind_has_a_payload_type_and_the_samples_fit_them() -> None:
    assert set(PAYLOADS) == set(MessageKind)
    assert set(SAMPLES) == set(MessageKind)
    assert {kind: missing_keys(kind, sample) for kind, sample in SAMPLES.items() if missing_keys(kind, sample)} == {}
    assert EDIT_KINDS == {MessageKind.ALERT_UPDATE, MessageKind.INBOX_UPDATE, MessageKind.CHECKIN_TAKEN}
    # The values are the strings stored in deliveries.kind: renaming one would orphan stored rows.
    assert MessageKind("checkin_taken") is MessageKind.CHECKIN_TAKEN and MessageKind.ALERT == "alert"


# ------------------------------------------------------------------ Telegram


@pytest.fixture(scope="module")
def locales(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return compile_catalogs(PROJECT_ROOT / "locales", tmp_path_factory.mktemp("locales"))


@pytest.fixture
def telegram(locales: Path, tmp_path: Path) -> tuple[TelegramMessenger, MockedBot]:
    bot = MockedBot()
    settings = Settings(_env_file=None, locales_dir=locales, var_dir=tmp_path / "var")
    return TelegramMessenger(bot, build_i18n(settings), media_root=tmp_path / "media"), bot


async def test_telegram_carries_every_kind(telegram: tuple[TelegramMessenger, MockedBot]) -> None:
    messenger, bot = telegram
    assert messenger.capabilities.unsupported == frozenset()
    assert messenger.capabilities.can_edit and messenger.capabilities.buttons
    assert await unhandled_kinds(messenger, "telegram:777") == {}
    edits = [r for r in bot.requests if isinstance(r, EditMessageText)]
    assert sorted(e.message_id for e in edits) == [55, 56, 57]  # the three edit kinds edit, never send


async def test_a_kind_added_without_a_renderer_is_reported(telegram: tuple[TelegramMessenger, MockedBot]) -> None:
    """The check itself: a new member of the catalogue that the adapter does not render (or has
    no sample) is named, with the adapter's "no renderer" answer."""
    messenger, _bot = telegram
    grown = StrEnum("Grown", {**{m.name: m.value for m in MessageKind}, "BIRTHDAY": "birthday"})
    samples = {**SAMPLES, grown("birthday"): {"nickname": "Xiaoming"}}
    assert await unhandled_kinds(messenger, "telegram:777", kinds=grown, samples=samples) == {  # type: ignore[arg-type]
        "birthday": "permanent: no renderer for kind 'birthday'"}
    assert await unhandled_kinds(messenger, "telegram:777", kinds=grown) == {  # type: ignore[arg-type]
        "birthday": "no sample content in tests/core/test_message_kinds.py"}


@pytest.mark.parametrize("done", [False, True])
async def test_checkin_taken_edits_the_other_guardians_question_and_drops_its_buttons(
    telegram: tuple[TelegramMessenger, MockedBot], done: bool
) -> None:
    messenger, bot = telegram
    outcome = await messenger.deliver(Outgoing(delivery_id=1, address="telegram:777", kind=MessageKind.CHECKIN_TAKEN,
                                               locale="en", content={"message_id": "42", "done": done}))
    [edit] = bot.requests
    assert isinstance(edit, EditMessageText)
    assert (edit.chat_id, edit.message_id, edit.reply_markup) == (777, 42, None)
    assert edit.text == ("Someone in your family has answered these questions. Thank you!" if done else
                         "Someone in your family is answering these questions. Thank you!")
    assert (outcome.status, outcome.message_id) == ("sent", "42")


@pytest.mark.parametrize(("answer", "status"), [
    ("Bad Request: message is not modified: specified new message content is the same", "sent"),
    ("Bad Request: message can't be edited", "sent"),  # too old: nothing left to do
    ("Bad Request: message to edit not found", "sent"),
    ("Bad Request: can't parse entities", "permanent"),
])
async def test_an_edit_with_nothing_left_to_change_counts_as_sent(
    telegram: tuple[TelegramMessenger, MockedBot], answer: str, status: str
) -> None:
    messenger, bot = telegram
    bot.session.fail_next(400, answer)
    outcome = await messenger.deliver(Outgoing(delivery_id=1, address="telegram:777", kind=MessageKind.CHECKIN_TAKEN,
                                               locale="en", content={"message_id": "42", "done": True}))
    assert outcome.status == status
    assert not [r for r in bot.requests if isinstance(r, SendMessage)]  # never a new message instead


# ------------------------------------------------------------------ SMS


async def test_sms_carries_its_notice_kinds_and_declares_the_rest(settings, session, sessionmaker, clock):  # type: ignore[no-untyped-def]
    settings = sms_settings(settings)
    double = make_double(clock)
    village = await seed_village(session, now=clock())
    await add_endpoint(session, address=f"sms:{GRANDMA}", guardian_id=village.grandma.id, now=clock())
    await session.commit()
    messenger = SmsMessenger(make_notices(settings, double, sessionmaker, clock))
    caps = messenger.capabilities
    assert caps.unsupported == set(MessageKind) - set(NOTICE_FOR_KIND)
    assert MessageKind.ALERT in caps.unsupported and MessageKind.SAFETY in caps.unsupported
    assert (caps.can_edit, caps.buttons, caps.media) == (False, False, frozenset())
    for n, kind in enumerate(NOTICE_FOR_KIND):  # notices are paced per number: one a while
        clock.advance(minutes=5 * (n + 1))
        assert await unhandled_kinds(messenger, f"sms:{GRANDMA}", kinds=[kind]) == {}
    assert len(double.sent) == len(NOTICE_FOR_KIND)
    grown = StrEnum("Grown", {**{m.name: m.value for m in MessageKind}, "BIRTHDAY": "birthday"})
    clock.advance(hours=1)
    assert await unhandled_kinds(messenger, f"sms:{GRANDMA}", kinds=[grown("birthday")],  # type: ignore[list-item]
                                 samples={grown("birthday"): {}}) == {  # type: ignore[dict-item]
        "birthday": "permanent: no SMS notice for birthday"}


# ------------------------------------------------------------------ the test channel


async def test_the_test_channel_carries_every_kind_without_edits_or_buttons(clock) -> None:  # type: ignore[no-untyped-def]
    """The second adapter (tests/channels/testchannel.py) declares other capabilities and still
    renders every kind: the check holds for any adapter, not only Telegram's."""
    channel = TestChannel(clock)
    channel.heard("test:1")
    assert not channel.capabilities.can_edit and not channel.capabilities.buttons
    assert await unhandled_kinds(channel, "test:1") == {}
    assert len(channel.carried) >= len(MessageKind)
