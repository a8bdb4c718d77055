"""Start-up steps shared by the process roles: var dir, admin token, migrations, content."""
from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncEngine

from core.clock import system_clock
from core.config import Settings
from core.catalog.loading import load_content
from core.content.loader import ContentInvalid
from core.db import make_sessionmaker
from core.migrate import upgrade
from core.staff.service import ensure_bootstrap_admin

ADMIN_TOKEN_FILE = "admin_token"


def ensure_var_dir(settings: Settings) -> Path:
    if not settings.var_dir.exists():
        # The database, its backups and the admin token live here: the owner's only.
        settings.var_dir.mkdir(parents=True, mode=0o700)
        settings.var_dir.chmod(0o700)
    return settings.var_dir


def resolve_admin_token(settings: Settings) -> tuple[str, bool]:
    """SHOUWANG_ADMIN_TOKEN, else the one stored under var/, else a new one (stored, 0600).
    Returns (token, newly_generated)."""
    if settings.admin_token:
        return settings.admin_token, False
    path = ensure_var_dir(settings) / ADMIN_TOKEN_FILE
    if path.exists():
        token = path.read_text(encoding="utf-8").strip()
        if token:
            return token, False
    token = "sw_admin_" + secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(token + "\n")
    return token, True


def stored_admin_token(settings: Settings) -> str | None:
    """The token kept under var/ (by resolve_admin_token), without generating one."""
    path = settings.var_dir / ADMIN_TOKEN_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip() or None
    return None


async def prepare_database(engine: AsyncEngine, settings: Settings, *, admin_token: str | None) -> None:
    """Migrate, load content (all or nothing), make sure the bootstrap admin exists."""
    await upgrade(engine)
    sessionmaker = make_sessionmaker(engine)
    async with sessionmaker() as session, session.begin():
        try:
            await load_content(session, root=settings.content_dir, now=system_clock())
        except ContentInvalid as exc:
            print("content/ has problems; nothing was loaded:", file=sys.stderr)
            for problem in exc.problems:
                print(f"  {problem}", file=sys.stderr)
            raise SystemExit(1) from None
        if admin_token:
            await ensure_bootstrap_admin(session, token=admin_token, now=system_clock())
