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
    database: Literal["ok", "unreachable"]
    tick_age_seconds: float | None


class FieldProblem(BaseModel):
    field: str  # where in the request, e.g. "body.name", "query.limit", "path.cohort_id"
    reason: str


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None = None  # domain errors: the input field at fault, if one is
    fields: list[FieldProblem] | None = None  # request validation: every problem found


class ErrorBody(BaseModel):
    """Documented in OpenAPI so clients know the one error shape."""

    error: ErrorDetail
