"""Linking an MT5 account: pending → verified by a device's snapshot → primary → unlinked."""

from __future__ import annotations

from datetime import timedelta

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.accounts import service as accounts
from signalhub.config import Settings
from signalhub.kit.time import utcnow
from signalhub.models import AccountInfo, AccountLink, AuditLog, Tier, User
from tests.factories import (
    broker_snapshot,
    create_account_link,
    create_device,
    create_trader_device,
    create_user,
    grant_tier,
)
from tests.helpers import bearer_for, push_snapshot, snapshot_payload

TRADER = 424242
OTHER_TRADER = 515151


async def user_of(session: AsyncSession, telegram_id: int) -> User:
    user = await session.scalar(select(User).where(User.telegram_id == telegram_id))
    assert user is not None
    return user


async def test_link_is_pending_with_a_pairing_code_until_a_snapshot_verifies_it(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await bearer_for(client, TRADER)
    user = await user_of(session, TRADER)
    await grant_tier(session, user, Tier.premium)
    device = await create_device(session, settings, user)
    await session.commit()
    created = await client.post(
        "/api/v1/accounts/link",
        json={"mt5_login": 5123456, "server": "ICMarketsSC-Demo"},
        headers=headers,
    )
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["status"] == "pending"
    assert body["is_primary"] is False
    assert body["error"] is None
    assert len(body["pairing_code"]) == 9

    pushed = await push_snapshot(
        client,
        device.device.id,
        device.secret,
        snapshot_payload(5123456, "ICMarketsSC-Demo"),
    )
    assert pushed.status_code == 200, pushed.text
    assert pushed.json() | {"message": ""} == {
        "linked": True,
        "account_id": body["id"],
        "status": "verified",
        "pairing_code": body["pairing_code"],
        "message": "",
    }

    listed = (await client.get("/api/v1/accounts", headers=headers)).json()
    assert [(a["mt5_login"], a["status"], a["is_primary"]) for a in listed] == [
        (5123456, "verified", True)
    ]
    assert listed[0]["trade_mode"] == "real"
    assert listed[0]["company"] == "Raw Trading Ltd"
    assert listed[0]["currency"] == "USD"
    actions = (
        await session.scalars(
            select(AuditLog.action)
            .where(AuditLog.action.startswith("account."))
            .order_by(AuditLog.id)
        )
    ).all()
    assert actions == ["account.link_requested", "account.verified"]

    positions = (await client.get("/api/v1/positions", headers=headers)).json()
    assert positions["account"]["login"] == 5123456
    assert [p["ticket"] for p in positions["positions"]] == [987654321]
    assert positions["positions"][0]["pnl"] == "-121.50000000"


async def test_a_second_link_of_the_same_account_is_409(client: httpx.AsyncClient) -> None:
    headers = await bearer_for(client, TRADER)
    account = {"mt5_login": 7001, "server": "Pepperstone-Live 02"}
    assert (
        await client.post("/api/v1/accounts/link", json=account, headers=headers)
    ).status_code == 201
    again = await client.post("/api/v1/accounts/link", json=account, headers=headers)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "account_already_linked"


@pytest.mark.parametrize(
    "payload",
    [
        {"mt5_login": 0, "server": "Broker-Demo"},
        {"mt5_login": 2**63, "server": "Broker-Demo"},
        {"mt5_login": "five", "server": "Broker-Demo"},
        {"mt5_login": 5, "server": ""},
        {"mt5_login": 5, "server": "B" * 65},
        {"mt5_login": 5, "server": "Broker\x00Demo"},
        {"mt5_login": 5, "server": "Broker/../Demo"},
        {"mt5_login": 5, "server": ["Broker-Demo"]},
        {"mt5_login": 5},
        {"mt5_login": 5, "server": "Broker-Demo", "password": "hunter2"},
    ],
)
async def test_malformed_login_or_server_is_422(
    client: httpx.AsyncClient, payload: dict[str, object]
) -> None:
    headers = await bearer_for(client, TRADER)
    response = await client.post("/api/v1/accounts/link", json=payload, headers=headers)
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "validation_error"


async def test_first_verified_link_is_primary_and_primary_can_move(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await bearer_for(client, TRADER)
    user = await user_of(session, TRADER)
    device = await create_trader_device(session, settings, user)
    first = await create_account_link(session, user, device_id=device)
    second = await create_account_link(session, user, device_id=device)
    pending = await create_account_link(session, user)
    await session.commit()
    assert (first.is_primary, second.is_primary) == (True, False)

    moved = await client.put(f"/api/v1/accounts/{second.id}/primary", headers=headers)
    assert moved.status_code == 200
    listed = (await client.get("/api/v1/accounts", headers=headers)).json()
    assert [a["id"] for a in listed if a["is_primary"]] == [second.id]

    not_verified = await client.put(f"/api/v1/accounts/{pending.id}/primary", headers=headers)
    assert not_verified.status_code == 409
    assert not_verified.json()["error"]["code"] == "account_not_verified"


async def test_unlink_passes_primary_on_and_stops_signals_to_that_device(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await bearer_for(client, TRADER)
    user = await user_of(session, TRADER)
    office, laptop, spare = [await create_trader_device(session, settings, user) for _ in range(3)]
    now = utcnow()
    first = await create_account_link(session, user, device_id=office, now=now - timedelta(hours=2))
    second = await create_account_link(
        session, user, device_id=laptop, now=now - timedelta(hours=1)
    )
    await session.commit()
    assert await accounts.devices_taking_signals(session, [office]) == {office}

    removed = await client.delete(f"/api/v1/accounts/{first.id}", headers=headers)
    assert removed.status_code == 204
    # The spare never reported an account.
    assert await accounts.devices_taking_signals(session, [office, laptop, spare]) == {
        laptop,
        spare,
    }

    listed = (await client.get("/api/v1/accounts", headers=headers)).json()
    assert [(a["id"], a["is_primary"]) for a in listed] == [(second.id, True)]
    again = await client.delete(f"/api/v1/accounts/{first.id}", headers=headers)
    assert again.status_code == 404

    # The device keeps reporting the unlinked account: still no signals, and no relink.
    await accounts.record_snapshot(
        session, user.id, office, broker_snapshot(first.mt5_login, first.server), utcnow()
    )
    assert await accounts.devices_taking_signals(session, [office]) == set()
    assert len((await client.get("/api/v1/accounts", headers=headers)).json()) == 1


async def test_linking_an_unlinked_account_again_starts_over(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await bearer_for(client, TRADER)
    user = await user_of(session, TRADER)
    device = await create_trader_device(session, settings, user)
    link = await create_account_link(session, user, device_id=device)
    await session.commit()
    await client.delete(f"/api/v1/accounts/{link.id}", headers=headers)
    again = await client.post(
        "/api/v1/accounts/link",
        json={"mt5_login": link.mt5_login, "server": link.server},
        headers=headers,
    )
    assert again.status_code == 201
    assert (again.json()["id"], again.json()["status"]) == (link.id, "pending")
    assert again.json()["is_primary"] is False


async def test_an_unknown_login_expires_after_24_hours_with_account_not_found(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers = await bearer_for(client, TRADER)
    user = await user_of(session, TRADER)
    device = await create_trader_device(session, settings, user)
    long_ago = utcnow() - timedelta(hours=24, seconds=1)
    link = await create_account_link(session, user, now=long_ago)
    await session.commit()

    listed = (await client.get("/api/v1/accounts", headers=headers)).json()
    assert [(a["id"], a["status"], a["error"]) for a in listed] == [
        (link.id, "pending", "Account not found")
    ]
    late = await accounts.record_snapshot(
        session, user.id, device, broker_snapshot(link.mt5_login, link.server), utcnow()
    )
    assert late is None
    assert (await session.get(AccountLink, link.id)).status == "pending"  # type: ignore[union-attr]

    retry = await client.post(
        "/api/v1/accounts/link",
        json={"mt5_login": link.mt5_login, "server": link.server},
        headers=headers,
    )
    assert retry.status_code == 201
    assert retry.json()["error"] is None


async def test_a_snapshot_never_creates_or_verifies_another_users_link(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_user(session)
    stranger = await create_user(session)
    await grant_tier(session, stranger, Tier.premium)
    strangers_device = await create_device(session, settings, stranger)
    link = await create_account_link(session, owner)
    await session.commit()
    pushed = await push_snapshot(
        client,
        strangers_device.device.id,
        strangers_device.secret,
        snapshot_payload(link.mt5_login, link.server),
    )
    assert pushed.status_code == 200
    assert pushed.json()["linked"] is False
    assert "not linked" in pushed.json()["message"]
    await session.refresh(link)
    assert link.status == "pending"
    assert await accounts.listed(session, stranger.id) == []
    assert (await session.scalars(select(AccountInfo))).all() == []


async def test_another_users_account_is_404_everywhere(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    owner = await create_user(session, telegram_id=OTHER_TRADER)
    device = await create_trader_device(session, settings, owner)
    link = await create_account_link(session, owner, device_id=device)
    await session.commit()
    headers = await bearer_for(client, TRADER)
    for method, path in (
        ("PUT", f"/api/v1/accounts/{link.id}/primary"),
        ("DELETE", f"/api/v1/accounts/{link.id}"),
        ("GET", f"/api/v1/accounts/{link.id}/positions"),
    ):
        response = await client.request(method, path, headers=headers)
        assert response.status_code == 404, (method, path)
        assert response.json()["error"]["code"] == "account_not_found"


@pytest.mark.parametrize(
    ("account_id", "status"), [("0", 422), (str(2**63), 422), ("-1", 404), ("abc", 404)]
)
async def test_bad_account_ids_are_refused(
    client: httpx.AsyncClient, account_id: str, status: int
) -> None:
    """A number out of range is invalid (422); what is not a number names no account (404)."""
    headers = await bearer_for(client, TRADER)
    response = await client.delete(f"/api/v1/accounts/{account_id}", headers=headers)
    assert response.status_code == status


async def test_accounts_need_a_signed_in_user(client: httpx.AsyncClient) -> None:
    assert (await client.get("/api/v1/accounts")).status_code == 401
    assert (await client.get("/api/v1/positions")).status_code == 401
