"""A guardian's voice recorded on the web pages, heard by staff: the console's inbox item plays it
from an authenticated route scoped to the family's cohort (another cohort's director gets 404,
so does a signed-out browser), each hearing audited; and the director's Telegram gets the stored
file above the item's card (the production sender against the Bot API double)."""
from __future__ import annotations

from sqlalchemy import select

from core.checkin.risk import scanner_for
from core.config import PROJECT_ROOT
from core.inbox import recordings
from core.inbox import service as inbox
from core.models import AuditLog, Guardian
from tests.web.console_world import (  # noqa: F401
    browsers, console_world, drain_to_bot_double, link_code,
)

OGG = b"OggS\x00\x02" + bytes(500)


async def _voice_item(sessionmaker, clock, settings, guardian_id: int) -> tuple[int, int, str]:  # type: ignore[no-untyped-def]
    name = recordings.new_name("audio/ogg")
    recordings.store(settings.recordings_root, name, OGG)
    scanner = scanner_for(PROJECT_ROOT / "content" / "risk" / "lexicon.yaml")
    async with sessionmaker() as session, session.begin():
        guardian = await session.get(Guardian, guardian_id)
        received = await inbox.receive(session, guardian=guardian, scanner=scanner, now=clock(),
                                       incoming=inbox.Incoming(kind="voice", address=None, message_id=None,
                                                               file_unique_id=name, media_type="audio/ogg"))
        return received.item.id, received.message.id, name


async def test_staff_of_the_cohort_hear_a_web_voice_message_and_no_one_else(console_world, browsers, sessionmaker,
                                                                           clock, settings):
    w = console_world
    item_id, message_id, _name = await _voice_item(sessionmaker, clock, settings, w.a.household["guardian_id"])
    director = await browsers(link_code(w.a.director))
    page = await director.get(f"/console/inbox/{item_id}")
    src = f"/console/inbox/{item_id}/recordings/{message_id}"
    assert page.status_code == 200 and f'<audio controls preload="none" src="{src}">' in page.text
    household = await director.get(f"/console/households/{w.a.household['id']}")
    assert household.status_code == 200 and f'src="{src}"' in household.text  # in the family's timeline too
    assert f'href="/console/inbox/{item_id}"' in household.text
    heard = await director.get(src)
    assert heard.status_code == 200 and heard.content == OGG
    assert heard.headers["content-type"] == "audio/ogg" and "no-store" in heard.headers["cache-control"]
    async with sessionmaker() as session:
        audited = (await session.scalars(select(AuditLog).where(AuditLog.entity == "inbox_message"))).all()
        assert [(a.entity_id, a.staff_id) for a in audited] == [(message_id, w.a.director["id"])]
    other = await browsers(link_code(w.b.director))
    assert (await other.get(src)).status_code == 404  # another cohort's staff: as if it did not exist
    assert (await other.get(f"/console/inbox/{item_id}")).status_code == 404
    nobody = await browsers(None)
    assert (await nobody.get(src)).status_code in (303, 401)
    assert (await director.get(f"/console/inbox/{item_id}/recordings/{message_id + 1}")).status_code == 404
    assert (await director.get(f"/console/inbox/{item_id}/recordings/x")).status_code in (404, 422)


async def test_the_director_on_telegram_gets_the_recording_above_the_card(console_world, sessionmaker, clock,
                                                                          settings, tmp_path):
    w = console_world
    await _voice_item(sessionmaker, clock, settings, w.a.household["guardian_id"])
    calls = await drain_to_bot_double(sessionmaker, settings, clock, tmp_path,
                                      recordings_root=settings.recordings_root)
    methods = [m for m, _ in calls]
    voice = methods.index("sendvoice")
    assert "sendmessage" in methods[voice + 1:]  # the card comes after it, as a reply to it
    card = next(p for m, p in calls[voice + 1:] if m == "sendmessage")
    assert str(card.get("reply_to_message_id") or card.get("reply_parameters") or "") != ""
