"""Schemas and validated types every domain shares: the one place that keeps what PostgreSQL
cannot store (NUL in text, integers beyond the column) away from the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import AfterValidator, Field, StrictBool

from signalhub.kit.text import is_storable

MAX_BIGINT = 2**63 - 1
MAX_INTEGER = 2**31 - 1


def _storable(value: str) -> str:
    if not is_storable(value):
        raise ValueError("must not contain NUL characters or unpaired surrogates")
    return value


# Text that reaches a column; add length bounds with Field(...) where it is used.
Text = Annotated[str, AfterValidator(_storable)]
# A row id in a body or a query: positive and within BIGINT.
Id = Annotated[int, Field(ge=1, le=MAX_BIGINT)]
# The same as a path parameter.
PathId = Annotated[int, Path(ge=1, le=MAX_BIGINT)]
# The security scheme of routes that serve anonymous callers too.
OPTIONAL_BEARER_SCHEME = "OptionalBearer"
# `true`/`false` only: `0`, `"yes"` and `"1"` are refused, not read as a flag.
Flag = StrictBool

# `openapi_extra` of a route that reads and verifies its raw body itself (the webhooks): the
# document still says that it takes a JSON object.
RAW_JSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {"application/json": {"schema": {"type": "object"}}},
    }
}
