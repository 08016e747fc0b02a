"""`signalhub device run`'s client against the real app: it takes an approved signal, fills it
and acknowledges; it follows the server's clock; a revoked device stops it."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.db import Database
from signalhub.devices import service as devices
from signalhub.devices.client import DeviceClient, DeviceRefused, Fill, SimulatedBroker, run
from signalhub.kit.time import utcnow
from signalhub.models import EaDelivery, User
from tests.devices.conftest import approve
from tests.signals.conftest import offered


def device_client(
    app: FastAPI, registration: devices.Registration, clock: Callable[[], float] = time.time
) -> DeviceClient:
    http = httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")
    return DeviceClient(
        "http://testserver", registration.device.id, registration.secret, http, clock
    )


async def test_the_device_fills_an_approved_signal_and_acks_it(
    app: FastAPI,
    database: Database,
    session: AsyncSession,
    trader: User,
    device: devices.Registration,
) -> None:
    _, approval = await offered(database, session, trader)
    # Approved before the device runs: the test's connection serves one session at a time
    # (waking a long poll is tested in test_bridge.py).
    await approve(session, approval)
    client = device_client(app, device)
    fills: list[Fill] = []
    stop = asyncio.Event()

    def filled(fill: Fill) -> None:
        fills.append(fill)
        stop.set()

    await asyncio.wait_for(
        run(client, SimulatedBroker(Decimal("0.10"), seed=1), wait_s=5, on_fill=filled, stop=stop),
        10,
    )
    await client.aclose()

    assert len(fills) == 1
    assert fills[0].status == "executed"
    assert fills[0].describe() == f"EURUSD buy executed at 1.085, ticket {fills[0].ticket}"
    delivery = await session.scalar(select(EaDelivery).where(EaDelivery.approval_id == approval.id))
    assert delivery is not None
    assert delivery.ticket == fills[0].ticket
    assert delivery.price == Decimal("1.085")
    assert delivery.volume == Decimal("0.10")


async def test_the_device_skips_what_expired_on_its_way() -> None:
    broker = SimulatedBroker(Decimal("1"), seed=1)
    signal = {
        "approval_id": 5,
        "symbol": "EURUSD",
        "side": "sell",
        "entry_price": "1.085",
        "expires_at": "2026-01-01T00:00:00+00:00",
    }
    fill = broker.execute(signal, utcnow())
    assert (fill.status, fill.error, fill.ticket) == ("skipped", "expired", None)


async def test_the_device_follows_the_server_clock(
    app: FastAPI, device: devices.Registration
) -> None:
    client = device_client(app, device, clock=lambda: time.time() - 3600)
    assert await client.poll(0) == []
    assert client.clock_offset_s == pytest.approx(3600, abs=5)
    await client.aclose()


async def test_a_revoked_device_stops(
    app: FastAPI, session: AsyncSession, trader: User, device: devices.Registration
) -> None:
    await devices.revoke(session, trader.id, device.device.id, utcnow())
    await session.commit()
    client = device_client(app, device)
    with pytest.raises(DeviceRefused, match="removed"):
        await run(client, SimulatedBroker(Decimal("0.1")), wait_s=0)
    await client.aclose()


async def test_a_signal_offered_again_is_acked_again_not_executed_twice() -> None:
    """The server offers a signal again when the device's ack did not reach it within the
    lease: the device sends the same ack again and does not place a second order."""
    signal = {
        "approval_id": 7,
        "symbol": "EURUSD",
        "side": "buy",
        "entry_price": "1.085",
        "expires_at": (utcnow() + timedelta(minutes=15)).isoformat(),
    }
    offers = [[signal], [signal], []]
    acks: list[dict[str, object]] = []
    stop = asyncio.Event()

    def server(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/api/v1/ea/ack":
            acks.append(json.loads(request.content))
            return httpx.Response(200, json={})
        if len(offers) == 1:
            stop.set()
        return httpx.Response(200, json={"signals": offers.pop(0), "server_time": 0})

    http = httpx.AsyncClient(transport=httpx.MockTransport(server), base_url="http://testserver")
    client = DeviceClient("http://testserver", 1, "s" * 43, http)
    fills: list[Fill] = []
    await asyncio.wait_for(
        run(
            client,
            SimulatedBroker(Decimal("0.10"), seed=1),
            wait_s=0,
            on_fill=fills.append,
            stop=stop,
        ),
        10,
    )
    await client.aclose()

    assert [fill.approval_id for fill in fills] == [7]
    assert len(acks) == 2
    assert acks[0] == acks[1]
    assert acks[0]["ticket"] == fills[0].ticket
