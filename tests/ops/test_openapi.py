"""The OpenAPI document says what the API answers: every error status an operation can give is
listed with the one error body, booleans are strict and a product cannot sell the free tier."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from tests.factories import create_product
from tests.helpers import bearer_for

ADMIN_TELEGRAM_ID = 900  # listed in the test settings' ADMIN_TELEGRAM_IDS
ERROR_BODY = {"$ref": "#/components/schemas/ErrorBody"}


def _operations(document: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            yield f"{method.upper()} {path}", operation


def test_every_error_answer_has_the_error_body(app: FastAPI) -> None:
    document = app.openapi()
    assert "HTTPValidationError" not in document["components"]["schemas"]
    for name, operation in _operations(document):
        for status, answer in operation["responses"].items():
            if int(status) >= 400 and name != "GET /readyz":
                assert answer["content"]["application/json"]["schema"] == ERROR_BODY, (
                    name,
                    status,
                )


def test_every_operation_lists_what_its_plumbing_can_answer(app: FastAPI) -> None:
    for name, operation in _operations(app.openapi()):
        listed = set(operation["responses"])
        parameters = operation.get("parameters", [])
        if operation.get("requestBody"):
            assert {"400", "413", "422"} <= listed, name
        if parameters:
            assert "422" in listed, name
        if any(parameter["in"] == "path" for parameter in parameters):
            assert "404" in listed, name
        if {"HTTPBearer": []} in operation.get("security", []):
            assert {"401", "403"} <= listed, name


def test_public_reads_with_an_optional_token_say_so(app: FastAPI) -> None:
    operation = app.openapi()["paths"]["/api/v1/knowledge/{slug}"]["get"]
    assert operation["security"] == [{}, {"HTTPBearer": []}]
    assert "OptionalBearer" not in app.openapi()["components"]["securitySchemes"]


def test_the_product_schema_cannot_sell_the_free_tier(app: FastAPI) -> None:
    schemas = app.openapi()["components"]["schemas"]
    assert schemas["ProductCreate"]["properties"]["tier"]["enum"] == [
        "premium",
        "vip",
        "enterprise",
    ]


@pytest.mark.parametrize("flag", [0, 1, "true", "yes", None])
async def test_booleans_are_strict(client: httpx.AsyncClient, session: Any, flag: object) -> None:
    product = await create_product(session)
    await session.commit()
    headers = await bearer_for(client, ADMIN_TELEGRAM_ID)
    update = await client.patch(
        f"/api/v1/admin/products/{product.code}", json={"is_active": flag}, headers=headers
    )
    preference = await client.put(
        "/api/v1/me/marketing", json={"subscribed": flag}, headers=headers
    )
    if flag is None:
        # "Leave it as it is" on an update; a preference must be given.
        assert update.status_code == 200
    else:
        assert update.status_code == 422, update.text
        assert "is_active" in update.json()["error"]["message"]
    assert preference.status_code == 422, preference.text


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("DELETE", "/api/v1/accounts/link", "POST"),
        ("PUT", "/api/v1/admin/broadcast-templates", "GET, POST"),
        ("DELETE", "/api/v1/admin/broadcast-templates/7", "GET, PATCH"),
        ("POST", "/api/v1/admin/knowledge/stats", "GET"),
    ],
)
async def test_a_method_the_path_does_not_have_is_405_listing_all_it_has(
    client: httpx.AsyncClient, method: str, path: str, allowed: str
) -> None:
    response = await client.request(method, path)
    assert response.status_code == 405
    assert response.headers["allow"] == allowed
    assert response.json()["error"]["code"] == "method_not_allowed"


async def test_a_path_id_that_is_not_a_number_names_nothing(client: httpx.AsyncClient) -> None:
    response = await client.get("/api/v1/payments/abc")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
