"""The inbox through the API: list and read (scoped, audited), reply (relayed to the guardian
through the outbox on lane 0; undelivered when they cannot be reached), call noted, done (the
cards on the phones are updated); another cohort's item is not found."""
from __future__ import annotations

import httpx
from sqlalchemy import String, cast, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from core.checkin.risk import scanner_for
from core.clock import FrozenClock
from core.config import PROJECT_ROOT
from core.inbox import service as inbox
from core.models import Delivery, Guardian, InboxItem
from tests.api.checkin_data import link_telegram
from tests.api.helpers import ADMIN, World

URL = "/api/v1/inbox"


async def _item(sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock, guardian_id: int,
                 text: str) -> int:
    scanner = scanner_for(PROJECT_ROOT / "content" / "risk" / "lexicon.yaml")
    async with sessionmaker() as session, session.begin():
        guardian = await session.get(Guardian, guardian_id)
        assert guardian is not None
        received = await inbox.receive(session, guardian=guardian, scanner=scanner, now=clock(),
                                       incoming=inbox.Incoming(kind="text", address="telegram:1", message_id="7",
                                                               text=text))
        return received.item.id


async def test_list_read_reply_call_done_scoped_and_audited(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
) -> None:
    await link_telegram(sessionmaker, world.a.director["id"], world.b.director["id"])
    a_item = await _item(sessionmaker, clock, world.a.household["guardian_id"], "孩子最近不爱写作业，说他也不听")
    b_item = await _item(sessionmaker, clock, world.b.household["guardian_id"], "B村的事")
    # The forward to each director went out (as the sender would record it).
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Delivery).where(Delivery.kind == "inbox_forward")
                              .values(state="sent", provider_message_id=cast(Delivery.id + 500, String)))

    listed = await client.get(URL, headers=world.a.director_auth)
    assert listed.status_code == 200, listed.text
    assert [i["id"] for i in listed.json()] == [a_item]
    assert listed.json()[0]["child_id"] == world.a.child_id and listed.json()[0]["state"] == "open"
    everything = await client.get(URL, headers=ADMIN)
    assert {i["id"] for i in everything.json()} == {a_item, b_item}

    read = await client.get(f"{URL}/{a_item}", headers=world.a.director_auth)
    assert read.status_code == 200
    body = read.json()
    assert body["family"] == {"household_id": world.a.household["id"], "relationship": "grandmother",
                              "lives_with_children": True}
    assert [(m["direction"], m["kind"], m["text"]) for m in body["messages"]] == [("in", "text", "孩子最近不爱写作业，说他也不听")]
    assert body["read_at"] is not None

    # Another cohort's item is "not found", whatever the verb.
    for method, path in (("GET", ""), ("POST", "/reply"), ("POST", "/call-noted"), ("POST", "/done")):
        response = await client.request(method, f"{URL}/{b_item}{path}", headers=world.a.director_auth,
                                         json={"text": "x"} if path == "/reply" else None)
        assert response.status_code == 404, (method, path, response.text)
    assert (await client.get(URL, params={"cohort_id": world.b.cohort_id},
                             headers=world.a.director_auth)).status_code == 404

    replied = await client.post(f"{URL}/{a_item}/reply", json={"text": "奶奶，我下午过来看看"},
                                headers=world.a.director_auth)
    assert replied.status_code == 201, replied.text
    assert (replied.json()["direction"], replied.json()["status"]) == ("out", "queued")
    async with sessionmaker() as session:
        [relay] = (await session.scalars(select(Delivery).where(Delivery.kind == "inbox_relay"))).all()
    assert (relay.address, relay.lane, relay.payload["text"], relay.payload["director"]) == (
        world.a.household["address"], 0, "奶奶，我下午过来看看", "Director Village A")
    assert (await client.post(f"{URL}/{a_item}/reply", json={"text": ""},
                              headers=world.a.director_auth)).status_code == 422

    noted = await client.post(f"{URL}/{a_item}/call-noted", headers=world.a.director_auth)
    assert noted.status_code == 200 and noted.json()["call_noted_by_staff_id"] == world.a.director["id"]
    done = await client.post(f"{URL}/{a_item}/done", headers=world.a.director_auth)
    assert (done.json()["state"], done.json()["done_by_staff_id"]) == ("done", world.a.director["id"])
    again = await client.post(f"{URL}/{a_item}/done", headers=world.a.supervisor_auth)
    assert again.json()["done_by_staff_id"] == world.a.director["id"]  # the first stays
    assert [i["id"] for i in (await client.get(URL, params={"state": "done"},
                                               headers=world.a.director_auth)).json()] == [a_item]
    # Acting through the API updates the card on the director's phone.
    async with sessionmaker() as session:
        updates = (await session.scalars(select(Delivery).where(Delivery.kind == "inbox_update"))).all()
    assert updates and {(u.lane, u.payload["item_id"]) for u in updates} == {(0, a_item)}

    audit = (await client.get("/api/v1/audit", params={"entity": "inbox_item"}, headers=ADMIN)).json()
    assert {(e["action"], e["staff_id"]) for e in audit} >= {("read", world.a.director["id"]),
                                                            ("update", world.a.director["id"])}
    replies = (await client.get("/api/v1/audit", params={"entity": "inbox_reply"}, headers=ADMIN)).json()
    assert [e["entity_id"] for e in replies] == [a_item]


async def test_a_reply_to_a_guardian_who_blocked_the_bot_is_undelivered(
    client: httpx.AsyncClient, world: World, sessionmaker: async_sessionmaker[AsyncSession], clock: FrozenClock,
) -> None:
    item_id = await _item(sessionmaker, clock, world.a.household["guardian_id"], "在吗")
    async with sessionmaker() as session, session.begin():
        await session.execute(update(Guardian).where(Guardian.id == world.a.household["guardian_id"])
                              .values(unreachable_at=clock()))
    replied = await client.post(f"{URL}/{item_id}/reply", json={"text": "在的"}, headers=world.a.director_auth)
    assert replied.status_code == 201 and replied.json()["status"] == "undelivered"
    async with sessionmaker() as session:
        assert (await session.scalars(select(Delivery).where(Delivery.kind == "inbox_relay"))).all() == []
        item = await session.get(InboxItem, item_id)
        assert item is not None and item.state == "open"
    # Supervisors read but do not write to families.
    assert (await client.post(f"{URL}/{item_id}/reply", json={"text": "在的"},
                              headers=world.a.supervisor_auth)).status_code == 403
