"""The simulated device (`signalhub device run --account-login`) reports its account: the first
snapshot verifies the trader's link, later ones move the figures."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.devices.client import DeviceClient, push_snapshots
from signalhub.models import Tier, User
from signalhub.positions.gateway import SimulatedGateway
from tests.factories import create_account_link, create_device, grant_tier
from tests.helpers import bearer_for, eventually

TRADER = 737373


async def test_the_device_client_verifies_the_link_and_keeps_the_figures_moving(
    app: FastAPI, client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await bearer_for(client, TRADER)
    user = await session.scalar(select(User).where(User.telegram_id == TRADER))
    assert user is not None
    await grant_tier(session, user, Tier.premium)
    device = await create_device(session, settings, user)
    link = await create_account_link(session, user, login=5550001, server="Simulated-Demo")
    await session.commit()

    transport = httpx.ASGITransport(app=app)
    http = httpx.AsyncClient(transport=transport, base_url="http://testserver")
    device_client = DeviceClient("http://testserver", device.device.id, device.secret, http=http)
    answers: list[dict[str, Any]] = []
    stop = asyncio.Event()
    pushing = asyncio.create_task(
        push_snapshots(
            device_client,
            SimulatedGateway(seed=4),
            5550001,
            "Simulated-Demo",
            every_s=1.05,
            on_answer=answers.append,
            stop=stop,
        )
    )
    try:
        await eventually(lambda: len(answers) >= 1, timeout_s=10)
        assert answers[0]["status"] == "verified"
        assert answers[0]["pairing_code"] == link.pairing_code
        first = (await client.get("/api/v1/positions", headers=headers)).json()
        await eventually(lambda: len(answers) >= 2, timeout_s=10)
        second = (await client.get("/api/v1/positions", headers=headers)).json()
    finally:
        stop.set()
        await asyncio.wait_for(pushing, timeout=5)
        await device_client.aclose()
    assert first["source"] == "ea_bridge"
    assert first["account"]["company"] == "Simulated Markets Ltd"
    assert [p["ticket"] for p in first["positions"]] == [p["ticket"] for p in second["positions"]]
    assert first["as_of"] < second["as_of"]
    assert [p["price_current"] for p in first["positions"]] != [
        p["price_current"] for p in second["positions"]
    ]
