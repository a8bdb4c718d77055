"""The staff console's signed-in browsers: admins list them and end one (the browser is signed
out at its next request). The same core service as the console's Settings page."""
from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter
from pydantic import BaseModel

from api.deps import IdPath, Now, ScopeDep, SessionDep
from core.staff import websessions

router = APIRouter(prefix="/console-sessions", tags=["staff"])


class ConsoleSessionRead(BaseModel):
    id: int
    staff_id: int
    staff_name: str | None = None
    method: str  # link_code | api_token | telegram
    created_at: datetime
    last_seen_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    user_agent: str | None


def _read(row, name: str | None = None) -> ConsoleSessionRead:  # type: ignore[no-untyped-def]
    return ConsoleSessionRead(id=row.id, staff_id=row.staff_id, staff_name=name, method=row.method,
                              created_at=row.created_at, last_seen_at=row.last_seen_at, expires_at=row.expires_at,
                              revoked_at=row.revoked_at, user_agent=row.user_agent)


@router.get("", response_model=list[ConsoleSessionRead], summary="List signed-in console browsers")
async def list_console_sessions(session: SessionDep, scope: ScopeDep, now: Now) -> list[ConsoleSessionRead]:
    """Sessions not ended and not expired, newest first. Admins only."""
    return [_read(row, name) for row, name in await websessions.list_sessions(session, scope=scope, now=now)]


@router.post("/{session_id}/revoke", response_model=ConsoleSessionRead, summary="End a console session")
async def revoke_console_session(session_id: IdPath, session: SessionDep, scope: ScopeDep,
                                 now: Now) -> ConsoleSessionRead:
    """That browser is signed out at its next request. Idempotent. Admins only; audited."""
    return _read(await websessions.revoke(session, scope=scope, session_id=session_id, now=now))
