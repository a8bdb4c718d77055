"""The audit log, for admins: who read or changed which personal data, and when — and who was
refused ("denied"). Paged newest first with a cursor; the total and the next page's link come
in headers, so the body stays the plain list it always was."""
from __future__ import annotations

import base64
import binascii
from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query, Request, Response

from api.deps import MAX_ID, ScopeDep, SessionDep
from api.responses import json_list
from api.schemas import AuditEntryRead
from core import audit
from core.errors import Invalid
from core.inputs import Timestamp

router = APIRouter(prefix="/audit", tags=["audit"])

Action = Literal["read", "create", "update", "delete", "denied"]


def _encode_cursor(at: datetime, row_id: int) -> str:
    return base64.urlsafe_b64encode(f"{at.isoformat()}|{row_id}".encode()).decode().rstrip("=")


def _decode_cursor(cursor: str) -> tuple[datetime, int]:
    try:
        at, _, row_id = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode().partition("|")
        parsed = (datetime.fromisoformat(at), int(row_id))
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise Invalid("not a cursor this API gave out; follow the Link header", field="cursor") from None
    if parsed[0].tzinfo is None:
        raise Invalid("not a cursor this API gave out; follow the Link header", field="cursor")
    return parsed


@router.get(
    "",
    response_model=list[AuditEntryRead],
    responses={200: {"headers": {
        "X-Total-Count": {"description": "rows matching the filters, over all pages", "schema": {"type": "integer"}},
        "Link": {"description": 'the next page: <…&cursor=…>; rel="next" (absent on the last page)',
                 "schema": {"type": "string"}},
    }}},
)
async def list_audit(
    request: Request,
    session: SessionDep,
    scope: ScopeDep,
    staff_id: Annotated[int | None, Query(ge=1, le=MAX_ID)] = None,
    entity: Annotated[str | None, Query(min_length=1, max_length=32)] = None,
    action: Action | None = None,
    # Aware only: a naive time would silently mean a different instant on each server.
    since: Annotated[Timestamp | None, Query(description="at or after")] = None,
    until: Annotated[Timestamp | None, Query(description="before (excluded)")] = None,
    cursor: Annotated[str | None, Query(max_length=200, description="from the previous page's Link header")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> Response:
    """Newest first. Follow the `Link: …; rel="next"` header for older rows; `X-Total-Count`
    says how many rows match."""
    scope.require_admin()
    if since is not None and until is not None and since >= until:
        raise Invalid("must be before until", field="since")
    before = _decode_cursor(cursor) if cursor else None
    filters = {"staff_id": staff_id, "entity": entity, "action": action, "since": since, "until": until}
    rows = await audit.list_entries(session, **filters, before=before, limit=limit)
    headers = {"X-Total-Count": str(await audit.count_entries(session, **filters))}
    if len(rows) == limit:
        next_url = request.url.include_query_params(cursor=_encode_cursor(rows[-1].at, rows[-1].id))
        headers["Link"] = f'<{next_url.path}?{next_url.query}>; rel="next"'
    # The rows are the audit_log's columns, by AuditEntryRead's names (api.responses).
    return json_list(AuditEntryRead, (row._mapping for row in rows), headers=headers)
