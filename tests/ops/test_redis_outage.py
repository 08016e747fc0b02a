"""Redis stopped under a running app: sign-in keeps working and stays limited (per process),
devices keep trading with their nonces remembered in the database, and `/readyz` says Redis is
degraded instead of the instance failing."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.app import create_app
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.devices.signing import signed_headers
from signalhub.models import Tier
from tests.e2e.server import free_port
from tests.factories import create_device, create_subscriber, signed_init_data
from tests.helpers import (
    REDIS_OUTAGE_LOGGER,
    needs_redis_server,
    redis_outage_warnings,
    redis_server,
)

LIMIT = 3


@asynccontextmanager
async def client_with_redis(
    settings: Settings, database: Database, redis_url: str
) -> AsyncIterator[httpx.AsyncClient]:
    limited = settings.model_copy(
        update={"redis_url": redis_url, "signin_rate_limit_per_minute": LIMIT}
    )
    app = create_app(limited, database)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def sign_ins(client: httpx.AsyncClient, count: int) -> list[int]:
    # The limit is a fixed one-minute window: start well inside one, so all count in it.
    if time.time() % 60 > 55:
        await asyncio.sleep(60 - time.time() % 60)
    return [
        (
            await client.post(
                "/api/v1/auth/telegram", json={"init_data": signed_init_data(6100 + attempt)}
            )
        ).status_code
        for attempt in range(count)
    ]


async def test_sign_in_works_and_is_limited_when_redis_does_not_answer(
    settings: Settings, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=REDIS_OUTAGE_LOGGER)
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    async with client_with_redis(settings, database, nowhere) as client:
        assert await sign_ins(client, LIMIT + 2) == [200] * LIMIT + [429, 429]
        ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {"status": "degraded", "database": "ok", "redis": "degraded"}
    assert len(redis_outage_warnings(caplog, "rate limits")) == 1


@needs_redis_server
async def test_redis_stopped_under_a_running_app_and_started_again(
    settings: Settings, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=REDIS_OUTAGE_LOGGER)
    port = free_port()
    async with client_with_redis(settings, database, f"redis://127.0.0.1:{port}/0") as client:
        with redis_server(port):
            assert (await client.get("/readyz")).json()["redis"] == "ok"
            assert await sign_ins(client, 1) == [200]
        # Stopped: this process counts alone, from zero.
        assert await sign_ins(client, LIMIT + 1) == [200] * LIMIT + [429]
        assert (await client.get("/readyz")).json()["redis"] == "degraded"
        with redis_server(port):
            # The probe asks Redis itself, so it sees the end of the outage first.
            ready = await client.get("/readyz")
            assert ready.json() == {"status": "ready", "database": "ok", "redis": "ok"}
            assert await sign_ins(client, 1) == [200]
    assert len(redis_outage_warnings(caplog, "rate limits")) == 1


async def test_devices_keep_working_and_replays_are_refused_when_redis_does_not_answer(
    settings: Settings,
    database: Database,
    session: AsyncSession,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=REDIS_OUTAGE_LOGGER)
    trader = await create_subscriber(session, Tier.vip)
    registration = await create_device(session, settings, trader)
    await session.commit()
    headers = signed_headers(registration.device.id, registration.secret, "GET", "/api/v1/ea/me")
    nowhere = f"redis://127.0.0.1:{free_port()}/0"
    async with client_with_redis(settings, database, nowhere) as client:
        first = await client.get("/api/v1/ea/me", headers=headers)
        replayed = await client.get("/api/v1/ea/me", headers=headers)
    assert first.status_code == 200, first.text
    assert replayed.status_code == 401
    assert replayed.json()["error"]["code"] == "replayed"
    assert len(redis_outage_warnings(caplog, "device nonces")) == 1
