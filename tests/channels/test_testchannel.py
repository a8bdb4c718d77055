"""The in-memory test channel itself (tests/channels/testchannel.py): its reply window, plain
text without markup, long texts in parts, and what it declares it can do."""
from __future__ import annotations

from datetime import timedelta

from core.ports import Outgoing, SendOutcome
from tests.channels.testchannel import CAPABILITIES, MAX_TEXT, TestChannel, address, render

HER = address("her")


def lesson(**content: object) -> Outgoing:
    body = {"title": "陪孩子玩", "body": "每天**十分钟**。", "try_today": "问问孩子。"}
    body.update(content)
    return Outgoing(delivery_id=1, address=HER, kind="lesson", locale="zh-Hans", content=body)


async def test_it_writes_only_within_48_hours_of_the_person_writing(clock):
    channel = TestChannel(clock)
    assert await channel.deliver(lesson()) == SendOutcome(status="window_closed", error="reply window closed")
    channel.heard(HER)
    clock.advance(hours=48)
    sent = await channel.deliver(lesson())
    assert sent.status == "sent" and sent.message_id == "test-1"
    clock.advance(seconds=1)
    assert (await channel.deliver(lesson())).status == "window_closed"
    assert [r.status for r in channel.refused] == ["window_closed", "window_closed"]
    assert channel.kinds(HER) == ["lesson"]


async def test_plain_text_long_texts_in_parts_and_only_its_own_addresses(clock):
    channel = TestChannel(clock)
    channel.heard(HER)
    await channel.deliver(lesson())
    assert channel.last(HER).text == "陪孩子玩\n\n每天十分钟。\n\n问问孩子。"
    await channel.deliver(lesson(body="字" * (2 * MAX_TEXT)))
    parts = channel.last(HER).parts
    assert len(parts) == 3 and all(len(p) <= MAX_TEXT for p in parts) and "".join(parts).count("字") == 2 * MAX_TEXT
    other = Outgoing(delivery_id=2, address="telegram:1", kind="lesson", locale="zh-Hans")
    assert (await channel.deliver(other)).status == "permanent"


def test_a_question_is_numbered_choices_and_any_other_kind_is_its_plain_fields():
    question = {"index": 0, "number": 1, "total": 6, "text": "心情怎么样？", "choices": [[0, "开心"], [1, "不开心"]]}
    text = render(Outgoing(delivery_id=3, address=HER, kind="checkin", locale="zh-Hans",
                           content={"title": "每周问候", "intro": "问问小明", "answered": 0, "question": question}))
    assert "1/6 心情怎么样？\n1. 开心\n2. 不开心" in text and "<" not in text
    relay = render(Outgoing(delivery_id=4, address=HER, kind="inbox_relay", locale="zh-Hans",
                            content={"text": "奶奶别着急", "staff_name": "王主任", "flag": True}))
    assert relay == "[inbox_relay]\nstaff_name: 王主任\ntext: 奶奶别着急"


def test_its_capabilities_are_not_telegrams():
    assert (CAPABILITIES.can_edit, CAPABILITIES.buttons, CAPABILITIES.max_text) == (False, False, MAX_TEXT)
    assert CAPABILITIES.media == frozenset() and CAPABILITIES.unsupported == frozenset()
    assert CAPABILITIES.reply_window == timedelta(hours=48)
    assert TestChannel.capabilities is CAPABILITIES
