"""Every error leaves the API in one shape: {"error": {"code", "message", "field" | "fields"}}.

Domain errors carry their own status; request validation becomes 422 with each offending field
named; database errors caused by input (a number too large for a column, a lost race on a
unique key) become 422/409, so bad input never surfaces as a 500.
"""
from __future__ import annotations

import logging
import re
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DataError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

from api.guard import client_address, route_template
from api.schemas import ErrorBody
from core import audit
from core.errors import DomainError, InvalidFields
from core.models.enums import StaffRole

log = logging.getLogger(__name__)

_HTTP_CODES = {
    400: "bad_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "unsupported_media_type",
    422: "invalid",
    429: "too_many_requests",
    503: "unavailable",
}


class Unauthorized(DomainError):
    code = "unauthorized"
    status = 401


class Unavailable(DomainError):
    code = "unavailable"
    status = 503


def error_response(
    status: int, code: str, message: str, *, headers: dict[str, str] | None = None, **extra: Any
) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message, **extra}}, status_code=status,
                        headers=headers)


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# The error answers every operation documents (FastAPI `responses=` on the routers, one place).
_COMMON = {
    413: _error("The request body is larger than the limit (SHOUWANG_MAX_BODY_BYTES); refused before reading it"),
    422: _error("Invalid input: each offending field is named with the reason"),
}
ERROR_RESPONSES: dict[str, dict[int | str, dict[str, Any]]] = {
    "public": _COMMON,
    "api": {
        401: _error("No API token, or an unknown one"),
        403: _error("The staff member's role may not do this"),
        404: _error("Not found — or outside the staff member's cohorts, which looks the same"),
        409: _error("The change conflicts with the current state (or with a concurrent change: try again)"),
        **_COMMON,
        429: _error("Too many failed sign-ins from this address (or attempts); see Retry-After"),
    },
}


async def _audit_denied(request: Request, exc: DomainError) -> None:
    """A staff member refused (403) or told "not found" (404, which is also what another
    cohort's things look like) leaves an audit row "denied": probing other cohorts shows up in
    the log. Admins see every cohort, so their 404s are plain misses, not refusals. Written in
    its own transaction, since the request's was rolled back."""
    staff_id = getattr(request.state, "staff_id", None)
    maker = getattr(request.app.state, "sessionmaker", None)
    if staff_id is None or maker is None or getattr(request.state, "staff_role", None) == StaffRole.admin:
        return
    params = {k: v for k, v in request.path_params.items() if k.endswith("_id")}
    entity, entity_id = "request", None
    if params:
        name, value = list(params.items())[-1]
        entity, entity_id = name[: -len("_id")], _as_id(value)
    cohort_id = _as_id(params.get("cohort_id"))
    try:
        async with maker() as session:
            if entity_id is not None:
                # Where the thing really is: a cohort the staff member does not cover.
                cohort_id = await audit.cohort_of(session, entity=entity, entity_id=entity_id) or cohort_id
            audit.record(session, staff_id=staff_id, action="denied", entity=entity[:32], entity_id=entity_id,
                         cohort_id=cohort_id, now=request.app.state.clock(), method=request.method,
                         route=route_template(request.scope), status=exc.status, code=exc.code)
            await session.commit()
    except Exception as error:  # noqa: BLE001 — the refusal still goes out
        log.error("could not audit a denied request: %s on %s", type(error).__name__, route_template(request.scope))


def _as_id(value: object) -> int | None:
    try:
        number = int(str(value))
    except ValueError:
        return None
    return number if 0 < number <= 2_147_483_647 else None


async def _count_auth_failure(request: Request) -> None:
    throttle = getattr(request.app.state, "auth_throttle", None)
    if throttle is None:
        return
    address = client_address(request.scope)
    if await throttle.record(address, request.app.state.clock().timestamp()):
        log.warning("%d failed sign-ins from %s within %ds; refusing it for a while", throttle.limit, address,
                    int(throttle.window))


async def _domain_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DomainError)
    if exc.status == 401:
        await _count_auth_failure(request)
    elif exc.status in (403, 404):
        await _audit_denied(request, exc)
    headers = {"WWW-Authenticate": "Bearer"} if exc.status == 401 else None
    if getattr(exc, "retry_after_minutes", None):
        headers = {"Retry-After": str(exc.retry_after_minutes * 60)}
    extra: dict[str, Any] = {}
    if isinstance(exc, InvalidFields):
        extra["fields"] = [{"field": f, "reason": r} for f, r in exc.problems]
    return error_response(exc.status, exc.code, exc.message, field=exc.field, headers=headers, **extra)


def _reason(error: dict[str, Any]) -> str:
    message = str(error.get("msg", "invalid"))
    # pydantic prefixes our validators' messages; the prefix tells a client nothing.
    for prefix in ("Value error, ", "Assertion failed, "):
        if message.startswith(prefix):
            return message[len(prefix):]
    return message


# Whole-body checks name their field in the message ("texts.en.body: 91 words, at most 90"),
# as content files do; the field belongs in "field".
_NAMED_FIELD = re.compile(r"^([\w.-]+): (.+)$", re.DOTALL)


def _problem(error: dict[str, Any]) -> dict[str, str]:
    loc = [str(part) for part in error.get("loc", ())]
    reason = _reason(error)
    named = _NAMED_FIELD.match(reason)
    # Also a nested model's own check ("week: only for …" on body.psc17).
    if loc[:1] == ["body"] and named:
        loc, reason = [*loc, named.group(1)], named.group(2)
    return {"field": ".".join(loc), "reason": reason}


async def _validation_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    fields = [_problem(error) for error in exc.errors()]
    message = "; ".join(f"{f['field']}: {f['reason']}" for f in fields) or "invalid request"
    return error_response(422, "invalid", message, fields=fields)


async def _http_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    return error_response(
        exc.status_code, _HTTP_CODES.get(exc.status_code, "error"), str(exc.detail), headers=exc.headers
    )


async def _data_error(_request: Request, exc: Exception) -> JSONResponse:
    log.info("database rejected a value: %s", type(exc).__name__)
    return error_response(422, "invalid", "a value is out of range for the database")


async def _integrity_error(_request: Request, exc: Exception) -> JSONResponse:
    # Reached only when a concurrent request won a race the service had checked for.
    log.info("integrity error: %s", type(exc).__name__)
    return error_response(409, "conflict", "the change conflicts with another one; try again")


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(DomainError, _domain_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(DataError, _data_error)
    app.add_exception_handler(IntegrityError, _integrity_error)
