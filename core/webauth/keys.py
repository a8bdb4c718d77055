"""The server's key for hashing phone numbers, sign-in codes and tokens (HMAC-SHA256): a 6-digit
code or a phone number has too little entropy for a plain hash, a keyed one cannot be reversed
from a stolen database alone. Set SHOUWANG_WEB_SECRET, or one is generated into var_dir."""
from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from pathlib import Path

from core.config import Settings

SECRET_FILE = "web_secret"


def load_secret(settings: Settings) -> bytes:
    if settings.web_secret:
        return settings.web_secret.encode()
    path = Path(settings.var_dir) / SECRET_FILE
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip().encode()


def keyed_hash(secret: bytes, *parts: str) -> str:
    return hmac.new(secret, "\x1f".join(parts).encode(), hashlib.sha256).hexdigest()
