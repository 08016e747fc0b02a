from __future__ import annotations

import json
import logging

import httpx
import pytest

from signalhub.kit.logging import JsonFormatter, masker
from tests.conftest import TEST_BOT_TOKEN


async def test_health_and_readiness(client: httpx.AsyncClient) -> None:
    assert (await client.get("/healthz")).json() == {"status": "ok"}
    ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["database"] == "ok"


async def test_readiness_fails_when_database_is_unreachable(client: httpx.AsyncClient) -> None:
    from signalhub.db import Database

    app = client._transport.app  # type: ignore[attr-defined]
    healthy = app.state.database
    app.state.database = Database.from_url("postgresql+asyncpg://nobody@127.0.0.1:1/none")
    try:
        response = await client.get("/readyz")
    finally:
        await app.state.database.dispose()
        app.state.database = healthy
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "database_unavailable"


async def test_metrics_count_requests(client: httpx.AsyncClient) -> None:
    await client.get("/healthz")
    text = (await client.get("/metrics")).text
    assert 'signalhub_http_requests_total{method="GET",route="/healthz",status="200"}' in text


async def test_request_id_is_echoed_or_generated(client: httpx.AsyncClient) -> None:
    echoed = await client.get("/healthz", headers={"X-Request-ID": "abc123"})
    assert echoed.headers["x-request-id"] == "abc123"
    assert len((await client.get("/healthz")).headers["x-request-id"]) == 32


@pytest.mark.parametrize(
    "smuggled", ["a b", "x" * 65, "sk_test:12345", "id\twith-tab", "é-unicode", ""]
)
async def test_a_request_id_that_is_not_a_plain_token_is_replaced(
    client: httpx.AsyncClient, smuggled: str
) -> None:
    response = await client.get("/healthz", headers={"X-Request-ID": smuggled.encode()})
    assert response.headers["x-request-id"] != smuggled
    assert len(response.headers["x-request-id"]) == 32


def test_the_access_line_is_not_masked_and_other_lines_are() -> None:
    from signalhub.kit.logging import NOT_MASKED

    masker.add(TEST_BOT_TOKEN)
    access = logging.makeLogRecord({"name": "signalhub.http", "msg": "request"})
    access.__dict__.update({"path": "/api/v1/me", "status": 200, NOT_MASKED: True})
    other = logging.makeLogRecord({"name": "aiogram", "msg": f"token {TEST_BOT_TOKEN}"})

    access_entry = json.loads(JsonFormatter().format(access))
    assert access_entry["path"] == "/api/v1/me"
    assert NOT_MASKED not in access_entry
    assert TEST_BOT_TOKEN not in JsonFormatter().format(other)


async def test_unknown_route_and_method_have_error_bodies(client: httpx.AsyncClient) -> None:
    missing = await client.get("/api/v1/nothing-here")
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "not_found"
    wrong_method = await client.delete("/healthz")
    assert wrong_method.status_code == 405
    assert wrong_method.json()["error"]["code"] == "method_not_allowed"


@pytest.mark.parametrize("chunked", [False, True])
async def test_body_over_one_mebibyte_is_413(client: httpx.AsyncClient, chunked: bool) -> None:
    payload = b'{"init_data": "' + b"a" * (1024 * 1024) + b'"}'

    async def stream() -> object:
        for start in range(0, len(payload), 65536):
            yield payload[start : start + 65536]

    content = stream() if chunked else payload
    response = await client.post(
        "/api/v1/auth/telegram", content=content, headers={"content-type": "application/json"}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


async def test_invalid_json_is_422(client: httpx.AsyncClient) -> None:
    response = await client.post(
        "/api/v1/auth/telegram", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_unexpected_error_is_500_with_error_body_and_no_traceback(
    client: httpx.AsyncClient,
) -> None:
    app = client._transport.app  # type: ignore[attr-defined]

    @app.get("/boom")
    async def boom() -> None:
        raise RuntimeError("secret internals")

    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as raw:
        response = await raw.get("/boom")
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "internal_error"
    assert "secret internals" not in response.text


def test_logs_are_json_and_mask_secrets() -> None:
    masker.add(TEST_BOT_TOKEN)
    record = logging.makeLogRecord(
        {
            "name": "aiogram",
            "levelname": "INFO",
            "msg": "POST https://api.telegram.org/bot%s/sendMessage Authorization: Bearer abc.def",
            "args": (TEST_BOT_TOKEN,),
        }
    )
    line = JsonFormatter().format(record)
    entry = json.loads(line)
    assert TEST_BOT_TOKEN not in line
    assert "abc.def" not in line
    assert entry["level"] == "info"


def test_unknown_bot_tokens_and_stripe_keys_are_masked_too() -> None:
    text = masker.mask(
        "token 987654321:ABCdefGHIjklMNOpqrSTUvwxYZ0123456789 key sk_test_abcdefgh1234"
    )
    assert "ABCdef" not in text
    assert "sk_test_abcdefgh1234" not in text


def test_masking_keeps_clean_lines_and_handles_nested_and_special_secrets() -> None:
    from signalhub.kit.logging import SecretMasker

    local = SecretMasker()
    local.add("pa$$.word(1)", "pa$$.word(1)-extended", None, "short")
    clean = '{"message": "request", "path": "/api/v1/me", "status": 200}'
    assert local.mask(clean) == clean
    assert local.mask("x pa$$.word(1)-extended y") == "x *** y"
    assert local.mask("x pa$$.word(1) y paXX.word(1)") == "x *** y paXX.word(1)"
    assert local.mask("short is too short to be a secret") == "short is too short to be a secret"
    assert local.mask("authorization: BEARER abc.def") == "authorization: BEARER ***"
