"""Voice messages a guardian records on the web pages. A chat app keeps its own voice messages (the
inbox copies them, never downloads them); a recording made in a browser has nowhere else to live,
so it is kept here: one file per message under the recordings directory from the settings (never
inside the repository), readable by the service's own user only, its name random (no name, phone
number or date in it), linked to its inbox message by that name (InboxMessage.file_unique_id of a
message with no channel address). It is checked by its first bytes, not by what the browser
claims, and deleted with the guardian's data (core.enrolment.service.erase_guardian)."""
from __future__ import annotations

import hashlib
import logging
import os
import re
import secrets
from datetime import datetime, timedelta
from pathlib import Path

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from core import audit
from core.access import Scope
from core.errors import NotFound
from core.housekeeping import beat, last_beat
from core.inbox.service import get_item
from core.models import InboxItem, InboxMessage

log = logging.getLogger(__name__)

_NAME = re.compile(r"^rec-[0-9a-f]{32}\.(webm|ogg|m4a|mp3|wav|amr|3gp)$")
_EXTENSIONS = {"audio/webm": "webm", "audio/ogg": "ogg", "audio/mp4": "m4a", "audio/mpeg": "mp3",
               "audio/wav": "wav", "audio/amr": "amr", "audio/3gpp": "3gp"}
MEDIA_TYPES = {ext: media for media, ext in _EXTENSIONS.items()}
ORPHAN_AGE = timedelta(hours=1)  # a file written this long ago with no message is an orphan
SWEEP_EVERY = timedelta(hours=1)
SWEEP_BEAT = "recordings_sweep"


def sniff(head: bytes) -> str | None:
    """The audio type of a file from its first bytes (the browser's Content-Type is only a
    claim); None when it is not a recording we can keep and play back."""
    if head.startswith(b"\x1a\x45\xdf\xa3"):  # Matroska/WebM (Chrome, Firefox, Android)
        return "audio/webm"
    if head.startswith(b"OggS"):  # Ogg Opus (Firefox, some Android recorders)
        return "audio/ogg"
    if head.startswith(b"#!AMR"):  # the phone's own recorder on many Android phones
        return "audio/amr"
    if head[4:8] == b"ftyp":  # ISO media: Safari's MediaRecorder, iPhone voice memos (m4a), 3GPP
        return "audio/3gpp" if head[8:11] == b"3gp" else "audio/mp4"
    if head.startswith(b"RIFF") and head[8:12] == b"WAVE":
        return "audio/wav"
    if head.startswith(b"ID3") or (len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0):
        return "audio/mpeg"
    return None


def new_name(media_type: str, *, repeat_key: bytes | None = None) -> str:
    """A file name that says nothing about anyone. `repeat_key` (the guardian and the form the
    recording came from) gives the same name to the same form sent twice, so a double submit
    stores it once."""
    token = hashlib.sha256(repeat_key).hexdigest()[:32] if repeat_key else secrets.token_hex(16)
    return f"rec-{token}.{_EXTENSIONS[media_type]}"


def is_recording(name: str | None) -> bool:
    return bool(name) and _NAME.match(name or "") is not None


def path_of(root: Path, name: str) -> Path:
    if not is_recording(name):  # never a path a request could steer outside the directory
        raise ValueError("not a recording name")
    return root / name


def media_type_of(name: str) -> str:
    return MEDIA_TYPES[name.rsplit(".", 1)[1]]


def store(root: Path, name: str, data: bytes) -> bool:
    """Write the file (owner-only, in an owner-only directory). False when a file of that name is
    already there (the same form sent twice): it is not written again."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    path = path_of(root, name)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return False
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    return True


def delete(root: Path, names: list[str]) -> int:
    """Delete the named recordings; a file already gone is not an error."""
    gone = 0
    for name in names:
        try:
            path_of(root, name).unlink()
            gone += 1
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as exc:
            log.error("a recording could not be deleted: %s", type(exc).__name__)
    if names:
        log.info("deleted %d of %d recordings", gone, len(names))
    return gone


async def names_of(session: AsyncSession, *, guardian_id: int, household_id: int | None = None) -> list[str]:
    """The recordings a guardian made; with household_id, every recording of that household's
    inbox too (the household is being erased)."""
    query = select(InboxMessage.file_unique_id).where(InboxMessage.address.is_(None),
                                                       InboxMessage.file_unique_id.is_not(None))
    if household_id is None:
        query = query.where(InboxMessage.guardian_id == guardian_id)
    else:
        query = query.join(InboxItem, InboxItem.id == InboxMessage.item_id).where(
            or_(InboxMessage.guardian_id == guardian_id, InboxItem.household_id == household_id))
    return [n for n in (await session.scalars(query)).all() if n is not None and is_recording(n)]


async def for_staff(session: AsyncSession, *, scope: Scope, item_id: int, message_id: int, now: datetime) -> str:
    """The name of a recording a staff member may hear: the message's item must be of their
    cohorts (else not found, as for the item itself). Each hearing is in the audit log."""
    item = await get_item(session, scope=scope, item_id=item_id)
    message = await session.get(InboxMessage, message_id)
    if (message is None or message.item_id != item.id or message.address is not None
            or not is_recording(message.file_unique_id)):
        raise NotFound("recording not found")
    audit.record(session, staff_id=scope.staff_id, action="read", entity="inbox_message", entity_id=message.id,
                 cohort_id=item.cohort_id, now=now)
    assert message.file_unique_id is not None
    return message.file_unique_id


async def sweep_orphans(session: AsyncSession, *, root: Path, now: datetime) -> int:
    """Once an hour (from the tick): delete recordings no inbox message points at, written more
    than an hour ago — a process stopped between writing the file and committing its message.
    Returns how many were deleted."""
    last = await last_beat(session, name=SWEEP_BEAT)
    if last is not None and now - last < SWEEP_EVERY:
        return 0
    await beat(session, name=SWEEP_BEAT, now=now)
    if not root.is_dir():
        return 0
    cutoff = (now - ORPHAN_AGE).timestamp()
    old = [e.name for e in os.scandir(root) if is_recording(e.name) and e.stat().st_mtime < cutoff]
    orphans: list[str] = []
    for start in range(0, len(old), 500):
        chunk = old[start:start + 500]
        kept = set((await session.scalars(select(InboxMessage.file_unique_id).where(
            InboxMessage.file_unique_id.in_(chunk)))).all())
        orphans.extend(n for n in chunk if n not in kept)
    return delete(root, orphans)
