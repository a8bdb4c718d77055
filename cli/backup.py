"""`shouwang db backup`: a consistent copy — SQLite's VACUUM INTO, PostgreSQL's pg_dump."""
from __future__ import annotations

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
        target.parent.mkdir(parents=True, exist_ok=True)
        if target.exists():
            raise SystemExit(f"{target} exists; choose another path")
        with sqlite3.connect(url.database) as conn:
            conn.execute("VACUUM INTO ?", (str(target),))
        return target
    if shutil.which("pg_dump") is None:
        raise SystemExit("pg_dump not found: install the PostgreSQL client tools")
    target = target or backups / f"shouwang-{stamp}.dump"
    target.parent.mkdir(parents=True, exist_ok=True)
    libpq = url.set(drivername="postgresql").render_as_string(hide_password=False)
    subprocess.run(["pg_dump", "--format=custom", "--file", str(target), libpq], check=True)
    return target
