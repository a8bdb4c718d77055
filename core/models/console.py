"""Staff sign-in to the web console: sessions and one-time sign-in codes sent through the outbox.
Only SHA-256 hashes of the secrets are stored (core.security.hash_secret)."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base, UTCDateTime


class StaffWebSession(Base):
    """One signed-in browser. The cookie holds the token; the row its hash and its CSRF secret's."""

    __tablename__ = "staff_web_sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    # The CSRF token is derived from the session token (HMAC), so nothing more is stored for it.
    method: Mapped[str] = mapped_column(String(16))  # link_code | api_token | sent_code (earlier rows: telegram)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_by_staff_id: Mapped[int | None] = mapped_column(ForeignKey("staff.id", ondelete="SET NULL"))
    # A short description of the browser for the admins' list (first 120 characters of User-Agent).
    user_agent: Mapped[str | None] = mapped_column(String(120))


class StaffSignInCode(Base):
    """A one-time code (and link) sent to a staff member's first reachable endpoint through the outbox.
    Bound to the browser that asked for it (`browser_hash`: the hash of a cookie it holds)."""

    __tablename__ = "staff_signin_codes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    staff_id: Mapped[int] = mapped_column(ForeignKey("staff.id", ondelete="CASCADE"), index=True)
    # Six digits: not unique across staff; looked up together with the browser.
    code_hash: Mapped[str] = mapped_column(String(64))
    link_hash: Mapped[str] = mapped_column(String(64), unique=True)
    browser_hash: Mapped[str] = mapped_column(String(64), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
