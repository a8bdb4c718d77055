"""One send path, through the production dispatcher and the mocked Bot API: the safety message,
/lesson, the redraw of every staff card after a tap and the "someone in your family is
answering" edits are outbox rows sent at once through the Messenger port and recorded as the
sender records them; what Telegram does not take stays in the outbox and the sender sends it
later — once."""
from __future__ import annotations

from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import EditMessageText, SendMessage

from core.models import Delivery
from harness import Person
from tests.bot.test_checkins import SUNDAY_1905, WORDS as CHECKIN_WORDS, join
from tests.bot.test_checkins import tick as checkin_tick  # noqa: F401 — a fixture
from tests.bot.test_director import WORDS as DIRECTOR_WORDS, red_alert, team_factory  # noqa: F401 — a fixture
from tests.bot.test_director import tick  # noqa: F401 — a fixture

SAFETY = CHECKIN_WORDS["zh-Hans"]["safety"]


def message_id_of(who: Person, method: object) -> str:
    """The message id the mocked Telegram gave the message sent by this request."""
    index = next(i for i, m in enumerate(who.bot.requests) if m is method)
    return str(who.bot.session.results[index].message_id)


def safety_messages(who: Person) -> list[SendMessage]:
    return [m for m in who.sent() if SAFETY in (m.text or "")]


# ------------------------------------------------------------------ the safety message


async def test_a_red_answer_sends_the_safety_row_through_the_port(enrol, db, clock, tick):
    grandma = await red_alert(enrol, clock, tick)
    [message] = safety_messages(grandma)
    [row] = await db.all(Delivery, Delivery.kind == "safety")
    assert (row.state, row.lane, row.attempts, row.lease_until) == ("sent", 0, 1, None)
    assert row.provider_message_id == message_id_of(grandma, message)


async def test_the_safety_message_telegram_did_not_take_is_sent_later_by_the_sender(
        enrol, db, clock, bot, sender, checkin_tick):
    grandma = await enrol()
    clock.set(SUNDAY_1905)
    await checkin_tick()
    for value in (0, 0, 0, 0, 0):
        await grandma.answer(value)
    bot.session.raise_next(TelegramNetworkError(method=None, message="network down"),  # type: ignore[arg-type]
                           method=SendMessage)
    await grandma.answer(2)  # "yes — someone hurt them"
    assert safety_messages(grandma) == []
    assert grandma.last().text.startswith(CHECKIN_WORDS["zh-Hans"]["thanks"])  # the rest goes on
    [row] = await db.all(Delivery, Delivery.kind == "safety")
    assert (row.state, row.last_error) == ("pending", "network_error")  # kept, not lost
    assert (await sender.drain_once()).sent == 0  # after its backoff
    clock.advance(seconds=(row.due_at - clock()).total_seconds())
    while (await sender.drain_once()).claimed:
        pass
    [message] = safety_messages(grandma)  # once
    [row] = await db.all(Delivery, Delivery.kind == "safety")
    assert (row.state, row.provider_message_id) == ("sent", message_id_of(grandma, message))
    clock.advance(minutes=5)
    await sender.drain_once()
    assert len(safety_messages(grandma)) == 1  # never twice


# ------------------------------------------------------------------ /lesson


async def test_lesson_on_request_is_a_row_sent_through_the_port(enrol, db, sender, clock):
    grandma = await enrol()
    [message] = await grandma.send("/lesson")
    [row] = await db.all(Delivery, Delivery.kind == "lesson")
    assert (row.state, row.ref, row.attempts, row.lease_until) == ("sent", "request", 1, None)
    assert row.provider_message_id == message_id_of(grandma, message)
    [followup] = await db.all(Delivery, Delivery.kind == "lesson_followup")  # planned as for any sent lesson
    assert followup.payload == {"lesson_delivery_id": row.id}
    clock.advance(minutes=5)
    assert (await sender.drain_once()).sent == 0  # nothing left to send twice


# ------------------------------------------------------------------ the staff's cards


async def test_acknowledge_edits_every_card_through_alert_update_rows(team_factory, enrol, clock, tick, db):
    words = DIRECTOR_WORDS["zh-Hans"]
    team = await team_factory("zh-Hans")
    await red_alert(enrol, clock, tick)
    cards = {d.address: d.provider_message_id for d in await db.all(Delivery, Delivery.kind == "alert")}
    sent = await team.wang.tap(words["buttons"][0])
    # Both cards are edited within the tap itself, not later by the sender.
    edits = {(m.chat_id, str(m.message_id)) for m in sent if isinstance(m, EditMessageText)}
    assert edits == {(int(address.partition(":")[2]), message_id) for address, message_id in cards.items()}
    rows = await db.all(Delivery, Delivery.kind == "alert_update")
    assert {(d.address, d.payload["message_id"], d.state, d.lane) for d in rows} == {
        (address, message_id, "sent", 0) for address, message_id in cards.items()}
    assert all(d.provider_message_id == d.payload["message_id"] for d in rows)
    for director in (team.wang, team.li):
        assert words["acked_by"] in director.last_shown().text


async def test_a_card_edit_lost_to_the_network_is_retried_by_the_sender(team_factory, enrol, clock, tick, db, bot,
                                                                        sender):
    words = DIRECTOR_WORDS["zh-Hans"]
    team = await team_factory("zh-Hans")
    await red_alert(enrol, clock, tick)
    bot.session.raise_next(TelegramNetworkError(method=None, message="network down"),  # type: ignore[arg-type]
                           method=EditMessageText)
    await team.wang.tap(words["buttons"][0])
    rows = await db.all(Delivery, Delivery.kind == "alert_update")
    assert sorted(d.state for d in rows) == ["pending", "sent"]
    [lost] = [d for d in rows if d.state == "pending"]
    assert lost.last_error == "network_error"
    lost_chat = int(lost.address.partition(":")[2])
    edits_before = len([m for m in bot.requests if isinstance(m, EditMessageText) and m.chat_id == lost_chat])
    clock.advance(seconds=(lost.due_at - clock()).total_seconds())
    assert (await sender.drain_once()).sent == 1  # the next pass
    assert {d.state for d in await db.all(Delivery, Delivery.kind == "alert_update")} == {"sent"}
    edits = [m for m in bot.requests if isinstance(m, EditMessageText) and m.chat_id == lost_chat]
    assert len(edits) == edits_before + 1 and words["acked_by"] in edits[-1].text
    assert str(edits[-1].message_id) == lost.payload["message_id"]


# ------------------------------------------------------------------ the other guardians


async def test_the_other_guardian_is_told_through_checkin_taken_rows(enrol, person, db, clock, checkin_tick):
    words = CHECKIN_WORDS["zh-Hans"]
    grandma = await enrol()
    grandpa = await join(person, grandma)
    clock.set(SUNDAY_1905)
    await checkin_tick()
    question = grandpa.last_shown()
    grandpa_message = message_id_of(grandpa, question)

    sent = await grandma.answer(0)
    [edit] = [m for m in sent if isinstance(m, EditMessageText) and m.chat_id == grandpa.chat_id]
    assert (str(edit.message_id), edit.text, edit.reply_markup) == (grandpa_message, words["being_answered"], None)
    [taken] = await db.all(Delivery, Delivery.kind == "checkin_taken")
    assert taken.address == f"telegram:{grandpa.chat_id}" and taken.state == "sent"
    assert taken.payload == {"message_id": grandpa_message, "done": False}

    for value in (0, 0, 0, 0, 0):
        sent = await grandma.answer(value)
    [edit] = [m for m in sent if isinstance(m, EditMessageText) and m.chat_id == grandpa.chat_id]
    assert edit.text == words["answered_by_other"]
    rows = await db.all(Delivery, Delivery.kind == "checkin_taken")
    assert sorted((d.cycle, d.state, d.payload["done"]) for d in rows) == [("done", "sent", True),
                                                                          ("taken", "sent", False)]
