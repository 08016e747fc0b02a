"""Idempotency under concurrency and dropped connections, on PostgreSQL with real commits: the
providers are asked once, whatever the clients do."""

from __future__ import annotations

import asyncio

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from signalhub.db import Database
from signalhub.models import Product
from tests.factories import create_product, create_user
from tests.fakes.stripe_api import FakeStripe
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import bearer_for, eventually

pytestmark = pytest.mark.postgres

TRADER = 778_001
CONCURRENCY = 20


@pytest.fixture
async def product(committing_database: Database) -> Product:
    async with committing_database.transaction() as session:
        product = await create_product(session, code="premium_race", price_stars=1500)
        await create_user(session, telegram_id=TRADER)
    return product


@pytest.fixture
def database(committing_database: Database) -> Database:
    """The app under test commits for real: the races run on separate connections."""
    return committing_database


@pytest.mark.parametrize("method", ["stars", "stripe"])
async def test_twenty_concurrent_posts_with_one_key_ask_the_provider_once(
    client: httpx.AsyncClient,
    product: Product,
    telegram_api: FakeTelegramAPI,
    fake_stripe: FakeStripe,
    method: str,
) -> None:
    headers = {**await bearer_for(client, TRADER), "Idempotency-Key": f"race-{method}"}
    # A slow provider keeps the first request in flight while the others arrive.
    telegram_api.latency_s = 0.3
    body = {"product": product.code, "method": method}
    responses = await asyncio.gather(
        *(client.post("/api/v1/payments", json=body, headers=headers) for _ in range(CONCURRENCY))
    )
    telegram_api.latency_s = 0
    statuses = sorted(response.status_code for response in responses)
    assert all(status in (201, 409) for status in statuses), statuses
    created = [response for response in responses if response.status_code == 201]
    fresh = [r for r in created if "Idempotent-Replayed" not in r.headers]
    assert len(fresh) == 1
    assert {r.json()["id"] for r in created} == {fresh[0].json()["id"]}
    for response in responses:
        if response.status_code == 409:
            assert response.json()["error"]["code"] == "idempotency_request_in_progress"
            assert response.headers["Retry-After"] == "1"
    if method == "stars":
        assert len(telegram_api.of("createInvoiceLink")) == 1
    else:
        assert len(fake_stripe.requests_to("/v1/checkout/sessions")) == 1

    # Once it is done, every retry is a replay of the first answer.
    replay = await client.post("/api/v1/payments", json=body, headers=headers)
    assert (replay.status_code, replay.json()) == (201, fresh[0].json())


async def test_a_retry_after_the_connection_dropped_returns_the_first_response(
    app: FastAPI, product: Product, telegram_api: FakeTelegramAPI
) -> None:
    """Through a real server: the client gives up mid-request, the server finishes the work,
    and the retry gets what the first request produced."""
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, lifespan="off"))
    serving = asyncio.create_task(server.serve())
    await eventually(lambda: server.started)
    port = server.servers[0].sockets[0].getsockname()[1]
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            headers = {**await bearer_for(client, TRADER), "Idempotency-Key": "dropped-1"}
            body = {"product": product.code, "method": "stars"}
            telegram_api.latency_s = 1.0
            with pytest.raises(httpx.ReadTimeout):
                await client.post("/api/v1/payments", json=body, headers=headers, timeout=0.3)
            telegram_api.latency_s = 0

            async def settled() -> bool:
                response = await client.post("/api/v1/payments", json=body, headers=headers)
                return response.status_code != 409

            await eventually(settled, timeout_s=10, step_s=0.2)
            retry = await client.post("/api/v1/payments", json=body, headers=headers)
        assert retry.status_code == 201
        assert retry.headers["Idempotent-Replayed"] == "true"
        assert len(telegram_api.of("createInvoiceLink")) == 1
        link = telegram_api.of("createInvoiceLink")[0]
        assert str(retry.json()["id"]) in link.params["payload"]
    finally:
        server.should_exit = True
        await serving
