"""The OpenAPI document as clients (and the generated Mini App types) read it: every operation
lists the error answers it can give, all with the one error body, including those that come from
the plumbing rather than the route: validation (422, not FastAPI's own shape), authentication
(401/403), a body the middleware refuses (400/408/413) and a path naming nothing (404). What a
route declares itself keeps its description."""

from __future__ import annotations

import re
from collections.abc import Iterator
from functools import cache
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI

from signalhub.errors import ErrorBody
from signalhub.kit.schemas import OPTIONAL_BEARER_SCHEME

ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
# FastAPI's own validation error shape, which our handler never sends.
_FASTAPI_VALIDATION_SCHEMAS = ("HTTPValidationError", "ValidationError")
_HTTP_METHODS = ("get", "put", "post", "delete", "patch", "head", "options")

PLUMBING_ERRORS = {
    400: "Malformed body: not JSON, or nested deeper than 64 levels (json_too_deep)",
    401: "Not signed in, or the access token is invalid, expired or revoked",
    403: "account_banned; admin_only on admin routes",
    404: "The path names nothing that exists (or nothing of the caller's)",
    408: "request_timeout: the body stalled",
    413: "payload_too_large",
    422: "validation_error: the message names each field and what is wrong with it",
}


def install(app: FastAPI) -> None:
    """Makes `app.openapi()` (and /openapi.json) return the document with its error answers."""
    build_document = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = with_error_answers(build_document())
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


def with_error_answers(document: dict[str, Any]) -> dict[str, Any]:
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    for name in _FASTAPI_VALIDATION_SCHEMAS:
        schemas.pop(name, None)
    error_body = ErrorBody.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, schema in {**error_body.pop("$defs", {}), "ErrorBody": error_body}.items():
        schemas.setdefault(name, schema)
    _optional_bearer_is_optional(document)
    for operations in document.get("paths", {}).values():
        for method, operation in operations.items():
            if method not in _HTTP_METHODS:
                continue
            statuses = set(_plumbing_statuses(operation))
            responses = operation.setdefault("responses", {})
            for status in statuses:
                answer = responses.setdefault(str(status), {"description": PLUMBING_ERRORS[status]})
                if status == HTTPStatus.UNPROCESSABLE_ENTITY:
                    # FastAPI's own 422 names its validation shape, which our handler never sends.
                    answer.pop("content", None)
            _error_body_everywhere(responses)
    return document


def _plumbing_statuses(operation: dict[str, Any]) -> Iterator[int]:
    parameters = operation.get("parameters", [])
    if operation.get("requestBody"):
        yield from (400, 408, 413, 422)
    if parameters:
        yield 422
    if any(parameter["in"] == "path" for parameter in parameters):
        yield 404
    if operation.get("security"):
        yield from (401, 403)


def _error_body_everywhere(responses: dict[str, Any]) -> None:
    """A 4xx or 5xx without a schema of its own answers the error body."""
    for status, answer in responses.items():
        if status.isdigit() and int(status) >= HTTPStatus.BAD_REQUEST and "content" not in answer:
            answer["content"] = {"application/json": {"schema": ERROR_REF}}


def _optional_bearer_is_optional(document: dict[str, Any]) -> None:
    """An operation that serves anonymous callers too says so: no credentials, or the bearer
    token (which must then be valid)."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    if schemes.pop(OPTIONAL_BEARER_SCHEME, None) is None:
        return
    schemes.setdefault("HTTPBearer", {"type": "http", "scheme": "bearer"})
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            if {OPTIONAL_BEARER_SCHEME: []} in operation.get("security", []):
                operation["security"] = [{}, {"HTTPBearer": []}]


def allowed_methods(app: FastAPI, path: str) -> list[str]:
    """Every method the document lists for the paths that `path` matches: the `Allow` of a 405.
    (The router answers a 405 with the methods of the first route whose path matched, one of
    them.) An integer path parameter matches digits only, as its route's `:int` does."""
    return sorted(
        {
            method.upper()
            for pattern, methods in _path_patterns(app)
            if pattern.fullmatch(path)
            for method in methods
        }
    )


@cache
def _path_patterns(app: FastAPI) -> tuple[tuple[re.Pattern[str], tuple[str, ...]], ...]:
    return tuple(
        (_path_regex(template, operations), tuple(m for m in operations if m in _HTTP_METHODS))
        for template, operations in app.openapi()["paths"].items()
    )


def _path_regex(template: str, operations: dict[str, Any]) -> re.Pattern[str]:
    integers = {
        parameter["name"]
        for operation in operations.values()
        for parameter in operation.get("parameters", [])
        if parameter["in"] == "path" and parameter.get("schema", {}).get("type") == "integer"
    }

    def parameter(match: re.Match[str]) -> str:
        return "[0-9]+" if match.group(1) in integers else "[^/]+"

    return re.compile(re.sub(r"\\\{(\w+)\\\}", parameter, re.escape(template)))
