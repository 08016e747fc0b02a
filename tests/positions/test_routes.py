"""GET /api/v1/positions and /api/v1/accounts/{id}/positions over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta
from decimal import Decimal

import httpx
from asgi_lifespan import LifespanManager
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.accounts import service as accounts
from signalhub.app import create_app
from signalhub.config import BrokerGatewayName, Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import User
from tests.factories import (
    broker_position,
    broker_snapshot,
    create_account_link,
    create_trader_device,
)
from tests.helpers import bearer_for

TRADER = 434343


async def trader(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> tuple[dict[str, str], User, int]:
    """The signed-in trader, and a device of theirs."""
    headers = await bearer_for(client, TRADER)
    user = await session.scalar(select(User).where(User.telegram_id == TRADER))
    assert user is not None
    return headers, user, await create_trader_device(session, settings, user)


async def test_primary_positions_from_the_pushed_snapshot(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers, user, device = await trader(client, session, settings)
    link = await create_account_link(session, user)
    now = utcnow()
    snapshot = broker_snapshot(
        link.mt5_login,
        link.server,
        positions=(
            broker_position(ticket=11, profit=Decimal("-120.30"), swap=Decimal("-1.20")),
            broker_position(ticket=12, profit=Decimal("45.10"), commission=Decimal("-0.70")),
        ),
        balance=Decimal("10000"),
        equity=Decimal("9923.20"),
        as_of=now,
    )
    await accounts.record_snapshot(session, user.id, device, snapshot, now)
    await session.commit()

    response = await client.get("/api/v1/positions", headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["source"] == "ea_bridge"
    assert body["stale"] is False
    assert body["account"]["login"] == link.mt5_login
    assert Decimal(body["account"]["balance"]) == Decimal("10000")
    assert Decimal(body["account"]["drawdown_percent"]) == Decimal("0.77")
    assert [(p["ticket"], Decimal(p["pnl"])) for p in body["positions"]] == [
        (11, Decimal("-121.50")),
        (12, Decimal("44.40")),
    ]
    assert Decimal(body["totals"]["pnl"]) == Decimal("-77.10")

    by_id = await client.get(f"/api/v1/accounts/{link.id}/positions", headers=headers)
    assert by_id.json() == body


async def test_no_open_positions_and_absurd_figures_still_answer(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers, user, device = await trader(client, session, settings)
    link = await create_account_link(session, user)
    now = utcnow()
    absurd = broker_snapshot(
        link.mt5_login,
        link.server,
        positions=(),
        balance=Decimal("-500"),
        equity=Decimal("-999999999999.99999999"),
        as_of=now,
    )
    await accounts.record_snapshot(session, user.id, device, absurd, now)
    await session.commit()
    body = (await client.get("/api/v1/positions", headers=headers)).json()
    assert body["positions"] == []
    assert Decimal(body["account"]["drawdown_percent"]) == 0
    assert Decimal(body["account"]["equity"]) == Decimal("-999999999999.99999999")


async def test_without_a_primary_account_is_404_and_a_pending_one_is_409(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers, user, _ = await trader(client, session, settings)
    missing = await client.get("/api/v1/positions", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "no_primary_account"
    pending = await create_account_link(session, user)
    await session.commit()
    response = await client.get(f"/api/v1/accounts/{pending.id}/positions", headers=headers)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "account_not_verified"


async def test_a_snapshot_older_than_the_limit_is_stale_with_its_time(
    client: httpx.AsyncClient, session: AsyncSession, settings: Settings
) -> None:
    headers, user, device = await trader(client, session, settings)
    link = await create_account_link(session, user)
    taken = utcnow() - timedelta(seconds=settings.positions_stale_after_s + 5)
    await accounts.record_snapshot(
        session,
        user.id,
        device,
        broker_snapshot(link.mt5_login, link.server, as_of=taken),
        utcnow(),
    )
    await session.commit()
    body = (await client.get("/api/v1/positions", headers=headers)).json()
    assert body["stale"] is True
    assert body["as_of"] == taken.isoformat().replace("+00:00", "Z")


async def simulated_client(
    settings: Settings, database: Database
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(
        settings.model_copy(update={"broker_gateway": BrokerGatewayName.simulated}), database
    )
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            yield client


async def test_the_simulated_gateway_serves_a_random_walk(
    settings: Settings, database: Database, session: AsyncSession
) -> None:
    async for client in simulated_client(settings, database):
        headers, user, device = await trader(client, session, settings)
        await create_account_link(session, user, device_id=device)
        await session.commit()
        body = (await client.get("/api/v1/positions", headers=headers)).json()
        assert body["source"] == "simulated"
        assert body["account"]["company"] == "Simulated Markets Ltd"
        assert len(body["positions"]) >= 1
        assert Decimal(body["totals"]["pnl"]) == sum(
            (Decimal(p["pnl"]) for p in body["positions"]), Decimal(0)
        )
