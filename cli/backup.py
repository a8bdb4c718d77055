"""`shouwang db backup`: a consistent copy — SQLite's VACUUM INTO, PostgreSQL's pg_dump.

A backup holds everything the database does, so it is its owner's only: the file 0600, the
backups folder 0700."""
from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from datetime import datetime, timezone
from pathlib import Path

from sqlalchemy.engine import make_url

from core.config import Settings


def backup(settings: Settings, target: Path | None = None) -> Path:
    url = make_url(settings.database_url)
    stamp = datetime.now(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    backups = settings.var_dir / "backups"
    if url.get_backend_name() == "sqlite":
        target = target or backups / f"shouwang-{stamp}.db"
        _private_dir(target.parent)
        if target.exists():
            raise SystemExit(f"{target} exists; choose another path")
        _private_file(target)  # VACUUM INTO fills an empty file and keeps its mode
        with sqlite3.connect(url.database) as conn:
            conn.execute("VACUUM INTO ?", (str(target),))
        return target
    if shutil.which("pg_dump") is None:
        raise SystemExit("pg_dump not found: install the PostgreSQL client tools")
    target = target or backups / f"shouwang-{stamp}.dump"
    _private_dir(target.parent)
    _private_file(target)
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "--format=custom", "--file", str(target), libpq], check=True)
    os.chmod(target, 0o600)
    return target


def _private_dir(path: Path) -> None:
    if not path.exists():
        path.mkdir(parents=True, mode=0o700)
        os.chmod(path, 0o700)  # mkdir's mode is filtered by the umask


def _private_file(path: Path) -> None:
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    os.chmod(path, 0o600)
