"""Response shapes that exist only at the HTTP edge; domain Create/Update/Read live in core."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from core.staff.schemas import StaffCredentials, StaffRead


class StaffWithCredentials(StaffRead):
    """A staff member plus secrets shown this once (creation, token rotation, new link code)."""

    credentials: StaffCredentials


class AuditEntryRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    at: datetime
    staff_id: int | None
    action: str
    entity: str
    entity_id: int | None
    cohort_id: int | None
    detail: dict[str, Any]


class HealthRead(BaseModel):
    status: Literal["ok", "degraded"]
    # busy: reachable, but no pooled connection or answer within the probe's time (load, not
    # an outage); unreachable: the database cannot be reached at all.
    database: Literal["ok", "busy", "unreachable"]
    tick_age_seconds: float | None
    # Deliveries due now per outbox lane ("0" urgent, "1" check-ins, "2" lessons and campaigns).
    backlog: dict[str, int] | None = None
    oldest_urgent_age_seconds: float | None = None  # the oldest unsent lane-0 delivery
    # The Telegram bot of this process: up (polling), down (with the reason; it keeps trying), off
    # (no token). None when this process runs no bot (`shouwang api`).
    bot: Literal["up", "down", "off"] | None = None
    bot_reason: str | None = None
    # Channels with a problem an operator must fix (a refused SMS template or signature, no
    # balance, bad credentials): {"sms": {"code": "isv.SMS_TEMPLATE_ILLEGAL", "detail": …, "since": …}}.
    channels: dict[str, dict[str, str]] | None = None


class FieldProblem(BaseModel):
    # Request validation names where in the request ("body.name", "query.limit"); a domain
    # check names the field of the resource ("lessons.3", "media.image").
    field: str
    reason: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None  # domain errors: the input field at fault, if one is
    fields: list[FieldProblem] | None = None  # request validation: every problem found


class ErrorBody(BaseModel):
    """Documented in OpenAPI so clients know the one error shape."""

    error: ErrorDetail
