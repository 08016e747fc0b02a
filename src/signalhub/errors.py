"""Domain errors carry their HTTP status; one handler renders them as {"error": {code, message}}."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from pydantic import BaseModel


class AppError(Exception):
    status_code = 400
    code = "bad_request"
    # Set on errors that report an outcome worth keeping (a revoked token family, a rejected
    # payment event): the transaction owner commits the work done before the error.
    commit_transaction = False
    # Sent with the error body (e.g. Retry-After).
    headers: dict[str, str] | None = None

    def __init__(
        self,
        message: str,
        *,
        code: str | None = None,
        status_code: int | None = None,
        details: dict[str, str | int] | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        # Machine-readable facts beside code and message (e.g. the server's clock on clock_skew).
        self.details = details or {}
        if code is not None:
            self.code = code
        if status_code is not None:
            self.status_code = status_code


class NotFound(AppError):
    status_code = 404
    code = "not_found"


class Conflict(AppError):
    status_code = 409
    code = "conflict"


class Unauthorized(AppError):
    status_code = 401
    code = "unauthorized"


class Forbidden(AppError):
    status_code = 403
    code = "forbidden"


class Unprocessable(AppError):
    status_code = 422
    code = "validation_error"


class RateLimited(AppError):
    status_code = 429
    code = "rate_limited"


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every error answer: {"error": {"code", "message"}}."""

    error: ErrorDetail


def error_responses(
    *statuses: int, described: dict[int, str] | None = None
) -> dict[int | str, dict[str, Any]]:
    """For a route's `responses=`: the statuses it can answer with the error body, those of
    `described` with their description (the error codes, say), the others with their HTTP
    phrase."""
    described = described or {}
    return {
        status: {
            "model": ErrorBody,
            "description": described.get(status, HTTPStatus(status).phrase),
        }
        for status in sorted({*statuses, *described})
    }
