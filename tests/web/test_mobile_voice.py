"""A voice message from the phone's browser: the plain form (a file field that opens the phone's
recorder), checked by its first bytes and size, kept as an owner-only file under the recordings
directory, entering the same inbox as the bot's messages and forwarded to the director; a double
submit stores it once; bad input gets a page in the guardian's language; erasing the guardian
deletes the file."""
from __future__ import annotations

import re
from datetime import timedelta
import stat
from types import SimpleNamespace

from sqlalchemy import select

from core.enrolment.service import erase_guardian
from core.inbox import recordings
from core.inbox.outgoing import resolve_inbox_messages
from core.models import Delivery, Guardian, InboxItem, InboxMessage
from tests.endpoints import tg
from tests.web.mobile_fixtures import DIRECTOR_CHAT, client, mobile, sign_in  # noqa: F401

WEBM = b"\x1a\x45\xdf\xa3\x9f\x42\x86\x81\x01" + bytes(2000)  # what Chrome's MediaRecorder starts with
OGG = b"OggS\x00\x02" + bytes(1000)
FORM_ID = re.compile(r'name="form_id" value="([0-9a-f]+)"')


async def _form_id(client) -> str:  # type: ignore[no-untyped-def]
    page = await client.get("/m/write")
    found = FORM_ID.search(page.text)
    assert found, "the voice form has no form id"
    return found.group(1)


def test_audio_is_recognised_by_its_first_bytes():
    assert recordings.sniff(WEBM[:16]) == "audio/webm"
    assert recordings.sniff(OGG[:16]) == "audio/ogg"
    assert recordings.sniff(b"\x00\x00\x00\x20ftypM4A \x00\x00") == "audio/mp4"
    assert recordings.sniff(b"\x00\x00\x00\x18ftyp3gp4\x00\x00") == "audio/3gpp"
    assert recordings.sniff(b"#!AMR\n\x00") == "audio/amr"
    assert recordings.sniff(b"RIFF\x00\x00\x00\x00WAVEfmt ") == "audio/wav"
    assert recordings.sniff(b"ID3\x04\x00") == "audio/mpeg"
    for not_audio in (b"<html><body>", b"\x89PNG\r\n\x1a\n", b"%PDF-1.4", b"", b"hello"):
        assert recordings.sniff(not_audio) is None
    for bad in ("../x.webm", "rec-zz.webm", "rec-" + "a" * 32 + ".exe", "/etc/passwd"):
        assert not recordings.is_recording(bad)


async def test_the_write_page_offers_a_recorder_that_works_without_javascript(client, mobile):
    await sign_in(client, mobile)
    page = await client.get("/m/write")
    assert page.status_code == 200
    assert 'enctype="multipart/form-data"' in page.text and 'action="/m/write/voice"' in page.text
    assert 'accept="audio/*" capture' in page.text and "用声音说" in page.text
    assert 'src="/m/static/record.js"' in page.text
    script = await client.get("/m/static/record.js")
    assert script.status_code == 200 and "MediaRecorder" in script.text and len(script.content) < 6000
    en = await client.get("/m/write?lang=en")
    assert "Or say it with your voice" in en.text and "Send the recording" in en.text


async def test_a_voice_message_enters_the_inbox_once_and_reaches_the_director(client, mobile, sessionmaker, clock):
    await sign_in(client, mobile)
    form_id = await _form_id(client)
    sent = await client.post("/m/write/voice", data={"form_id": form_id},
                             files={"voice": ("voice.webm", WEBM, "audio/webm")})
    assert sent.status_code == 303  # two children: which one is it about?
    item_id = int(sent.headers["location"].split("/")[3])
    chose = await client.post(sent.headers["location"], data={"child_id": mobile.village.older.id})
    assert chose.status_code == 200 and "王主任" in chose.text
    again = await client.post("/m/write/voice", data={"form_id": form_id},
                              files={"voice": ("voice.webm", WEBM, "audio/webm")})
    assert again.status_code == 200 and "王主任" in again.text  # the same form twice: stored once
    root = mobile.settings.recordings_root
    async with sessionmaker() as session:
        [message] = (await session.scalars(select(InboxMessage))).all()
        assert (message.kind, message.address, message.media_type, message.item_id) == (
            "voice", None, "audio/webm", item_id)
        assert message.guardian_id == mobile.village.grandma.id
        path = recordings.path_of(root, message.file_unique_id)
        assert path.read_bytes() == WEBM
        assert stat.S_IMODE(path.stat().st_mode) == 0o600 and stat.S_IMODE(root.stat().st_mode) == 0o700
        assert re.fullmatch(r"rec-[0-9a-f]{32}\.webm", path.name)  # nothing about the family in it
        item = await session.get(InboxItem, item_id)
        assert (item.child_id, item.state) == (mobile.village.older.id, "open")
        [forward] = (await session.scalars(select(Delivery).where(Delivery.kind == "inbox_forward"))).all()
        assert forward.address == tg(DIRECTOR_CHAT)
    async with sessionmaker() as session, session.begin():
        forward = await session.get(Delivery, forward.id)
        forward.state = "sending"
        content = await resolve_inbox_messages(session, items=[SimpleNamespace(delivery=forward)], now=clock())
    # The channel gets the stored file's name to send before the card (nothing to copy on Telegram).
    assert content[forward.id]["recording"] == {"name": path.name, "media_type": "audio/webm"}
    assert content[forward.id]["copy"] is None


async def test_voice_problems_get_a_page_in_the_guardians_language(client, mobile, sessionmaker):
    await sign_in(client, mobile)
    empty = await client.post("/m/write/voice", data={"form_id": "x"}, files={"voice": ("v.webm", b"", "audio/webm")})
    assert empty.status_code == 422 and "没有收到录音" in empty.text
    none = await client.post("/m/write/voice?lang=en", data={"form_id": "x"})
    assert none.status_code == 422 and "No recording came with the form" in none.text
    fake = await client.post("/m/write/voice?lang=zh-Hans", files={"voice": ("v.webm", b"<html>not sound</html>", "audio/webm")})
    assert fake.status_code == 415 and "不是录音" in fake.text
    fake_en = await client.post("/m/write/voice?lang=en", files={"voice": ("v.mp3", b"MZ\x90\x00", "audio/mpeg")})
    assert fake_en.status_code == 415 and "not a sound recording" in fake_en.text
    big = WEBM + bytes(mobile.settings.web_voice_max_bytes)
    long = await client.post("/m/write/voice?lang=zh-Hans", files={"voice": ("v.webm", big, "audio/webm")})
    assert long.status_code == 413 and "录音太长" in long.text and "5" in long.text
    long_en = await client.post("/m/write/voice?lang=en", files={"voice": ("v.webm", big, "audio/webm")})
    assert long_en.status_code == 413 and "The recording is too long" in long_en.text
    # Only the voice form takes a large body; every other page keeps the usual limit.
    other = await client.post("/m/write", files={"voice": ("v.webm", big, "audio/webm")})
    assert other.status_code == 413 and mobile.settings.max_body_bytes < len(big)
    huge = await client.post("/m/write/voice", files={"voice": ("v.webm", big * 3, "audio/webm")})
    assert huge.status_code == 413  # past twice the page's limit the guard refuses it unread
    async with sessionmaker() as session:
        assert (await session.scalars(select(InboxMessage))).all() == []
    root = mobile.settings.recordings_root
    assert not root.exists() or list(root.iterdir()) == []
    client.cookies.clear()
    signed_out = await client.post("/m/write/voice", files={"voice": ("v.webm", WEBM, "audio/webm")})
    assert signed_out.status_code == 303 and signed_out.headers["location"] == "/m/signin"
    assert not root.exists() or list(root.iterdir()) == []


async def test_erasing_the_guardian_deletes_their_recordings(client, mobile, sessionmaker, clock):
    await sign_in(client, mobile)
    sent = await client.post("/m/write/voice", data={"form_id": await _form_id(client)},
                             files={"voice": ("voice.ogg", OGG, "audio/ogg")})
    assert sent.status_code == 303
    root = mobile.settings.recordings_root
    [kept] = list(root.iterdir())
    stray = root / ("rec-" + "0" * 32 + ".webm")  # another family's recording stays
    stray.write_bytes(WEBM)
    async with sessionmaker() as session, session.begin():
        grandma = await session.get(Guardian, mobile.village.grandma.id)
        household_gone = await erase_guardian(session, guardian=grandma, now=clock(), recordings_root=root)
    assert household_gone is False  # the father stays
    assert not kept.exists() and stray.exists()
    async with sessionmaker() as session:
        assert (await session.scalars(select(InboxMessage))).all() == []


async def test_the_tick_deletes_recordings_no_message_points_at(client, mobile, sessionmaker, clock):
    """A process stopped between writing the file and committing its message leaves a file
    nobody points at: the tick deletes it after an hour; a recording in the inbox stays."""
    import os

    from core.tick import run_tick

    await sign_in(client, mobile)
    sent = await client.post("/m/write/voice", data={"form_id": await _form_id(client)},
                             files={"voice": ("voice.webm", WEBM, "audio/webm")})
    assert sent.status_code == 303
    root = mobile.settings.recordings_root
    [kept] = list(root.iterdir())
    orphan, fresh = root / ("rec-" + "1" * 32 + ".webm"), root / ("rec-" + "2" * 32 + ".ogg")
    orphan.write_bytes(WEBM)
    fresh.write_bytes(OGG)
    two_hours_ago = (clock() - timedelta(hours=2)).timestamp()
    for path in (kept, orphan):
        os.utime(path, (two_hours_ago, two_hours_ago))
    os.utime(fresh, (clock().timestamp(), clock().timestamp()))
    await run_tick(sessionmaker, settings=mobile.settings, clock=clock)
    assert kept.exists() and fresh.exists() and not orphan.exists()
    os.utime(fresh, (two_hours_ago, two_hours_ago))
    clock.advance(minutes=5)
    await run_tick(sessionmaker, settings=mobile.settings, clock=clock)
    assert fresh.exists()  # the sweep runs once an hour
    clock.advance(hours=1)
    await run_tick(sessionmaker, settings=mobile.settings, clock=clock)
    assert not fresh.exists() and kept.exists()
