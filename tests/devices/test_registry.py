"""The device registry over HTTP: secret shown once and stored encrypted, masked list, tier
limits, rename and revoke by the owner only, audit."""

from __future__ import annotations

import asyncio

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.app import create_app
from signalhub.audit.repository import AuditRepository
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.models import Device, Tier
from tests.factories import create_subscriber, create_user
from tests.helpers import bearer_for


async def signed_in(
    client: httpx.AsyncClient, session: AsyncSession, telegram_id: int, tier: Tier | None
) -> dict[str, str]:
    if tier is None:
        await create_user(session, telegram_id=telegram_id)
    else:
        await create_subscriber(session, tier, telegram_id=telegram_id)
    await session.commit()
    return await bearer_for(client, telegram_id)


async def test_register_shows_the_secret_once_and_stores_it_encrypted(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    auth = await signed_in(client, session, 7001, Tier.premium)
    response = await client.post("/api/v1/devices", json={"name": " Office MT5 "}, headers=auth)
    assert response.status_code == 201, response.text
    registered = response.json()
    secret = registered["secret"]
    assert len(secret) == 43
    assert registered["name"] == "Office MT5"
    assert registered["masked_key"] == f"{secret[:4]}…{secret[-4:]}"

    stored = await session.scalar(select(Device).where(Device.id == registered["id"]))
    assert stored is not None
    assert secret not in stored.secret_encrypted

    listed = (await client.get("/api/v1/devices", headers=auth)).json()
    assert listed == [
        {
            "id": registered["id"],
            "name": "Office MT5",
            "masked_key": registered["masked_key"],
            "status": "active",
            "created_at": registered["created_at"],
            "last_seen_at": None,
            "last_ip": None,
        }
    ]
    assert secret not in (await client.get("/api/v1/devices", headers=auth)).text


@pytest.mark.parametrize(
    ("tier", "limit"), [(None, 0), (Tier.premium, 1), (Tier.vip, 3), (Tier.enterprise, 20)]
)
async def test_tier_limits(
    client: httpx.AsyncClient, session: AsyncSession, tier: Tier | None, limit: int
) -> None:
    auth = await signed_in(client, session, 7100 + limit, tier)
    for number in range(limit):
        response = await client.post(
            "/api/v1/devices/register", json={"name": f"MT5 {number}"}, headers=auth
        )
        assert response.status_code == 201, response.text
    refused = await client.post("/api/v1/devices", json={"name": "one more"}, headers=auth)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "device_limit"
    assert error["limit"] == limit
    assert (str(limit) in error["message"]) if limit else ("Free" in error["message"])


async def test_a_revoked_device_frees_its_place(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    auth = await signed_in(client, session, 7201, Tier.premium)
    first = (await client.post("/api/v1/devices", json={"name": "A"}, headers=auth)).json()
    assert (await client.delete(f"/api/v1/devices/{first['id']}", headers=auth)).status_code == 204
    assert (await client.delete(f"/api/v1/devices/{first['id']}", headers=auth)).status_code == 204
    second = await client.post("/api/v1/devices", json={"name": "B"}, headers=auth)
    assert second.status_code == 201
    statuses = [d["status"] for d in (await client.get("/api/v1/devices", headers=auth)).json()]
    assert statuses == ["active", "revoked"]


async def test_rename_and_revoke_are_audited(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    auth = await signed_in(client, session, 7301, Tier.vip)
    device = (await client.post("/api/v1/devices", json={"name": "Old"}, headers=auth)).json()
    renamed = await client.patch(
        f"/api/v1/devices/{device['id']}", json={"name": "New"}, headers=auth
    )
    assert renamed.status_code == 200
    assert renamed.json()["name"] == "New"
    await client.delete(f"/api/v1/devices/{device['id']}", headers=auth)

    entries = await AuditRepository(session).for_subject("device", str(device["id"]))
    assert [(e.action, e.data) for e in entries] == [
        ("device.registered", {"name": "Old", "tier": "vip"}),
        ("device.renamed", {"from": "Old", "to": "New"}),
        ("device.revoked", {"name": "New"}),
    ]
    assert all(e.actor_user_id == e.user_id for e in entries)


async def test_another_users_device_is_not_found(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    owner = await signed_in(client, session, 7401, Tier.premium)
    stranger = await signed_in(client, session, 7402, Tier.premium)
    device = (await client.post("/api/v1/devices", json={"name": "Mine"}, headers=owner)).json()
    path = f"/api/v1/devices/{device['id']}"
    for response in (
        await client.patch(path, json={"name": "Theirs"}, headers=stranger),
        await client.delete(path, headers=stranger),
        await client.delete("/api/v1/devices/999999999", headers=owner),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "device_not_found"
    assert (await client.get("/api/v1/devices", headers=stranger)).json() == []
    listed = (await client.get("/api/v1/devices", headers=owner)).json()
    assert [(d["name"], d["status"]) for d in listed] == [("Mine", "active")]


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"name": ""},
        {"name": "   "},
        {"name": "x" * 65},
        {"name": "bad\x00name"},
        {"name": "tab\tname"},
        {"name": 5},
        {"name": "ok", "extra": 1},
        [],
    ],
)
async def test_bad_names_are_422(
    client: httpx.AsyncClient, session: AsyncSession, body: object
) -> None:
    auth = await signed_in(client, session, 7501, Tier.premium)
    response = await client.post("/api/v1/devices", json=body, headers=auth)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


@pytest.mark.parametrize(
    ("device_id", "status"), [("0", 422), (str(2**63), 422), ("-1", 404), ("abc", 404)]
)
async def test_bad_ids_are_refused(
    client: httpx.AsyncClient, session: AsyncSession, device_id: str, status: int
) -> None:
    """A number out of range is invalid (422); what is not a number names no device (404)."""
    auth = await signed_in(client, session, 7601, Tier.premium)
    response = await client.delete(f"/api/v1/devices/{device_id}", headers=auth)
    assert response.status_code == status


async def test_devices_need_a_signed_in_user(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/devices")).status_code == 401
    assert (await client.post("/api/v1/devices", json={"name": "x"})).status_code == 401


@pytest.mark.postgres
async def test_concurrent_registrations_stop_at_the_limit(
    committing_database: Database, settings: Settings
) -> None:
    async with committing_database.transaction() as session:
        await create_subscriber(session, Tier.vip, telegram_id=7701)
    app = create_app(settings, committing_database)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            auth = await bearer_for(client, 7701)
            responses = await asyncio.gather(
                *(
                    client.post("/api/v1/devices", json={"name": f"MT5 {n}"}, headers=auth)
                    for n in range(12)
                )
            )
            listed = (await client.get("/api/v1/devices", headers=auth)).json()
    assert sorted(r.status_code for r in responses) == [201] * 3 + [403] * 9
    assert len(listed) == 3
