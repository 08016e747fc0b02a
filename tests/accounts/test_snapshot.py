"""POST /api/v1/ea/snapshot: signed, at most once a second per device, up to 256 KiB, and
hostile figures refused or stored as reported without breaking the view."""

from __future__ import annotations

import asyncio
import copy
import json
import time
from decimal import Decimal

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.devices import service as devices
from signalhub.devices.signing import signed_headers
from signalhub.kit.time import utcnow
from signalhub.models import AccountInfo, AccountPosition, Tier, User
from tests.factories import create_account_link, create_device, grant_tier
from tests.helpers import bearer_for, push_snapshot, snapshot_payload

TRADER = 626262
LOGIN, SERVER = 5123456, "ICMarketsSC-Live07"


@pytest.fixture
async def trader(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> tuple[dict[str, str], User, devices.Registration]:
    headers = await bearer_for(client, TRADER)
    user = await session.scalar(select(User).where(User.telegram_id == TRADER))
    assert user is not None
    await grant_tier(session, user, Tier.vip)
    device = await create_device(session, settings, user)
    await create_account_link(session, user, login=LOGIN, server=SERVER)
    await session.commit()
    return headers, user, device


async def test_a_snapshot_replaces_the_last_one(
    client: httpx.AsyncClient,
    session: AsyncSession,
    trader: tuple[dict[str, str], User, devices.Registration],
) -> None:
    headers, _, device = trader
    first = await push_snapshot(
        client, device.device.id, device.secret, snapshot_payload(LOGIN, SERVER)
    )
    assert first.json()["status"] == "verified"
    await asyncio.sleep(1.05)  # the next second's allowance
    closed = snapshot_payload(LOGIN, SERVER, positions=[])
    second = await push_snapshot(client, device.device.id, device.secret, closed)
    assert second.status_code == 200
    body = (await client.get("/api/v1/positions", headers=headers)).json()
    assert body["positions"] == []
    assert (await session.scalars(select(AccountPosition))).all() == []
    info = await session.scalar(select(AccountInfo))
    assert info is not None
    assert (info.positions_count, info.device_id) == (0, device.device.id)
    assert info.drawdown_percent == Decimal("1.22")


async def test_at_most_one_snapshot_a_second_per_device(
    client: httpx.AsyncClient, trader: tuple[dict[str, str], User, devices.Registration]
) -> None:
    _, _, device = trader
    payload = snapshot_payload(LOGIN, SERVER)
    await asyncio.sleep(1 - time.time() % 1)  # start at the top of a second
    statuses = [
        (await push_snapshot(client, device.device.id, device.secret, payload)).status_code
        for _ in range(3)
    ]
    assert statuses[0] == 200
    assert statuses.count(429) >= 1
    assert statuses.count(200) <= 2  # a slow machine may cross into the next second


async def test_snapshots_up_to_256_kib_and_413_beyond(
    client: httpx.AsyncClient, trader: tuple[dict[str, str], User, devices.Registration]
) -> None:
    _, _, device = trader
    position = snapshot_payload(LOGIN, SERVER)["positions"][0]  # type: ignore[index]
    many = []
    for ticket in range(800):
        entry = copy.deepcopy(position)
        entry["ticket"] = ticket
        entry["comment"] = "x" * 64
        many.append(entry)
    payload = snapshot_payload(LOGIN, SERVER, positions=many)
    size = len(json.dumps(payload).encode())
    assert 64 * 1024 < size < 256 * 1024  # over the EA API's limit, within the snapshot's
    accepted = await push_snapshot(client, device.device.id, device.secret, payload)
    assert accepted.status_code == 200, accepted.text

    too_big = json.dumps(payload).encode() + b" " * (256 * 1024)
    signed = signed_headers(device.device.id, device.secret, "POST", "/api/v1/ea/snapshot", too_big)
    refused = await client.post(
        "/api/v1/ea/snapshot",
        content=too_big,
        headers=signed | {"Content-Type": "application/json"},
    )
    assert refused.status_code == 413
    assert refused.json()["error"]["code"] == "payload_too_large"


def with_account(**changes: object) -> dict[str, object]:
    payload = snapshot_payload(LOGIN, SERVER)
    payload["account"] = {**payload["account"], **changes}  # type: ignore[dict-item]
    return payload


def with_position(**changes: object) -> dict[str, object]:
    payload = snapshot_payload(LOGIN, SERVER)
    payload["positions"] = [{**payload["positions"][0], **changes}]  # type: ignore[index]
    return payload


@pytest.mark.parametrize(
    "payload",
    [
        with_account(balance="NaN"),
        with_account(equity="Infinity"),
        with_account(balance=1e17),
        with_account(login=0),
        with_account(server="Live\x00"),
        with_account(company="Raw\x00"),
        with_account(currency="US D"),
        with_account(trade_mode="cent"),
        with_account(leverage=2**31),
        with_account(password="hunter2"),
        with_position(ticket=-1),
        with_position(type="buy_limit"),
        with_position(symbol="EUR/USD"),
        with_position(comment="x\x00"),
        with_position(time="yesterday"),
        with_position(volume=None),
        {"account": "5123456", "positions": []},
        {"positions": []},
        {
            **snapshot_payload(LOGIN, SERVER),
            "positions": [snapshot_payload(LOGIN, SERVER)["positions"][0]] * 2,
        },  # type: ignore[index]
    ],
)
async def test_malformed_snapshots_are_422(
    client: httpx.AsyncClient,
    trader: tuple[dict[str, str], User, devices.Registration],
    payload: dict[str, object],
) -> None:
    _, _, device = trader
    response = await push_snapshot(client, device.device.id, device.secret, payload)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_negative_and_absurd_figures_are_stored_as_reported(
    client: httpx.AsyncClient, trader: tuple[dict[str, str], User, devices.Registration]
) -> None:
    headers, _, device = trader
    payload = with_account(
        balance=-250.5, equity="-9999999999999.99999999", margin=0, margin_level=-1e-12
    )
    payload["positions"][0]["volume"] = -3  # type: ignore[index]
    assert (
        await push_snapshot(client, device.device.id, device.secret, payload)
    ).status_code == 200
    body = (await client.get("/api/v1/positions", headers=headers)).json()
    assert body["account"]["balance"] == "-250.50000000"
    assert body["account"]["equity"] == "-9999999999999.99999999"
    assert body["account"]["drawdown_percent"] == "0.00"
    assert body["positions"][0]["volume"] == "-3.00000000"


async def test_a_revoked_device_cannot_push(
    client: httpx.AsyncClient,
    session: AsyncSession,
    trader: tuple[dict[str, str], User, devices.Registration],
) -> None:
    _, user, device = trader
    await devices.revoke(session, user.id, device.device.id, utcnow())
    await session.commit()
    response = await push_snapshot(
        client, device.device.id, device.secret, snapshot_payload(LOGIN, SERVER)
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "device_revoked"


async def test_an_unsigned_snapshot_is_401(client: httpx.AsyncClient) -> None:
    response = await client.post("/api/v1/ea/snapshot", json=snapshot_payload(LOGIN, SERVER))
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "signature_missing"
