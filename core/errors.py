"""Domain errors. Each carries a stable code; adapters map codes to HTTP statuses and bot replies."""
from __future__ import annotations


class DomainError(Exception):
    code = "domain_error"
    status = 400  # a hint for the HTTP adapter; the domain itself never speaks HTTP

    def __init__(self, message: str, *, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field
        if code:
            self.code = code


class NotFound(DomainError):
    code = "not_found"
    status = 404


class Invalid(DomainError):
    code = "invalid"
    status = 422


class InvalidFields(Invalid):
    """Several fields wrong at once (a programme's lesson list, missing media): every problem is
    reported together, each as (field, reason)."""

    def __init__(self, problems: list[tuple[str, str]]) -> None:
        super().__init__("; ".join(f"{f}: {r}" for f, r in problems), field=problems[0][0])
        self.problems = problems


class Conflict(DomainError):
    code = "conflict"
    status = 409


class Forbidden(DomainError):
    code = "forbidden"
    status = 403


class CodeRejected(DomainError):
    """An invitation / link code that cannot be used. `code` says why (unknown, expired, used_up)."""

    status = 400

