"""Schemas every domain shares."""

from __future__ import annotations

from pydantic import BaseModel


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorOut(BaseModel):
    """The body of every error answer."""

    error: ErrorDetail


def error_responses(**descriptions: str) -> dict[int | str, dict[str, object]]:
    """`responses=` for a route: `error_responses(**{"404": "No such thing"})`."""
    return {
        int(status): {"model": ErrorOut, "description": text}
        for status, text in descriptions.items()
    }
