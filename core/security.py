"""Secrets: API tokens, link and invitation codes. Only hashes of credentials are stored."""
from __future__ import annotations

import hashlib
import hmac
import secrets

# Unambiguous characters only: posters get copied by hand and read aloud.
_CODE_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"


def new_token() -> str:
    """A staff API token (about 256 bits)."""
    return "sw_" + secrets.token_urlsafe(32)


def new_code(length: int = 12) -> str:
    """An unguessable code for deep links (12 chars of 31 ≈ 59 bits). Fits the strictest
    deep-link parameter rules of the chat apps we link from ([A-Za-z0-9_-], ≤ 64)."""
    return "".join(secrets.choice(_CODE_ALPHABET) for _ in range(length))


def hash_secret(value: str) -> str:
    # High-entropy random secrets: a plain SHA-256 is enough (no password stretching needed).
    return hashlib.sha256(value.encode()).hexdigest()


def same_secret(a: str, b: str) -> bool:
    return hmac.compare_digest(a.encode(), b.encode())
