"""The database and its backups hold everything: created readable by their owner only."""
from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from cli.backup import backup
from core.config import Settings
from core.db import make_engine
from core.migrate import upgrade


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask():  # type: ignore[no-untyped-def]
    previous = os.umask(0o022)  # the usual default: files 0644, folders 0755
    yield
    os.umask(previous)


@pytest.mark.usefixtures("open_umask")
async def test_the_sqlite_database_and_its_backups_are_private(tmp_path: Path) -> None:
    db = tmp_path / "var" / "shouwang.db"
    url = f"sqlite+aiosqlite:///{db}"
    engine = make_engine(url)
    try:
        await upgrade(engine)  # WAL mode: -wal and -shm files appear beside it
    finally:
        await engine.dispose()
    assert mode(db.parent) == 0o700 and mode(db) == 0o600
    for sibling in db.parent.glob("shouwang.db-*"):
        assert mode(sibling) == 0o600, sibling
    # A file made earlier by someone else's umask is tightened too.
    loose = tmp_path / "loose.db"
    loose.touch(mode=0o644)
    make_engine(f"sqlite+aiosqlite:///{loose}")
    assert mode(loose) == 0o600

    target = backup(Settings(_env_file=None, database_url=url, var_dir=tmp_path / "var"))
    assert target.parent == tmp_path / "var" / "backups"
    assert mode(target.parent) == 0o700 and mode(target) == 0o600
    assert target.stat().st_size > 0  # VACUUM INTO filled the empty private file
