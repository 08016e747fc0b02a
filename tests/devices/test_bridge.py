"""The EA bridge over HTTP: approved signals reach each device of their user once, never
expired, never another user's; the long poll wakes on an approval; acks are idempotent per
approval and device and tell the trader through the bot."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import timedelta
from decimal import Decimal
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.accounts import service as accounts
from signalhub.app import create_app
from signalhub.audit.repository import AuditRepository
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.devices import bridge
from signalhub.devices import service as devices
from signalhub.devices.signing import signed_headers
from signalhub.devices.traffic import DeviceTraffic
from signalhub.kit.bus import take_pending
from signalhub.kit.time import utcnow
from signalhub.models import Approval, ApprovalChannel, OutboxMessage, Signal, Tier, User
from signalhub.signals import service as signals
from tests.devices.conftest import approve
from tests.factories import create_account_link, create_device, create_subscriber
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import drain_outbox
from tests.signals.conftest import fan_out, offered, publish

POLL = "/api/v1/ea/poll"
ACK = "/api/v1/ea/ack"


async def send(
    client: httpx.AsyncClient,
    device: devices.Registration,
    method: str,
    target: str,
    payload: dict[str, Any] | None = None,
) -> httpx.Response:
    body = b"" if payload is None else json.dumps(payload).encode()
    headers = signed_headers(device.device.id, device.secret, method, target, body)
    headers["Content-Type"] = "application/json"
    return await client.request(method, target, content=body, headers=headers)


async def poll(
    client: httpx.AsyncClient, device: devices.Registration, wait: int = 0
) -> list[dict[str, Any]]:
    response = await send(client, device, "GET", f"{POLL}?wait={wait}")
    assert response.status_code == 200, response.text
    taken: list[dict[str, Any]] = response.json()["signals"]
    return taken


async def poll_waiting(database: Database, user: User, polls: int = 1) -> None:
    """Until `polls` long polls of the user wait on the bus (authenticated and past their
    first look, so the test's own session may write on the shared connection)."""
    channel = signals.user_channel(user.id)
    for _ in range(1000):
        if database.bus.subscriber_count(channel) >= polls:
            await asyncio.sleep(0.2)
            return
        await asyncio.sleep(0.01)
    raise AssertionError("the long poll never started waiting")


async def test_two_devices_of_one_user_each_take_an_approved_signal_once(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    settings: Settings,
    trader: User,
    device: devices.Registration,
) -> None:
    laptop = await create_device(session, settings, trader, name="Laptop MT5")
    await session.commit()
    signal, approval = await offered(database, session, trader)
    assert await poll(client, device) == []
    await approve(session, approval)

    taken = await poll(client, device)
    assert taken == [
        {
            "approval_id": approval.id,
            "signal_id": signal.id,
            "symbol": "EURUSD",
            "side": "buy",
            "order_type": "market",
            "entry_price": "1.085",
            "stop_loss": "1.082",
            "take_profits": ["1.09", "1.095"],
            "expires_at": taken[0]["expires_at"],
            "expires_at_unix": int(signal.expires_at.timestamp()),
        }
    ]
    assert await poll(client, device) == []
    assert [s["approval_id"] for s in await poll(client, laptop)] == [approval.id]
    assert await poll(client, laptop) == []


async def test_a_device_never_sees_another_users_signals(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    device: devices.Registration,
) -> None:
    stranger = await create_subscriber(session, Tier.vip, telegram_id=8002)
    await session.commit()
    _, theirs = await offered(database, session, stranger)
    await approve(session, theirs)
    assert await poll(client, device) == []
    response = await send(
        client, device, "POST", ACK, {"approval_id": theirs.id, "status": "skipped"}
    )
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "approval_not_found"


async def test_only_approved_running_signals_are_handed_out(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    trader: User,
    device: devices.Registration,
) -> None:
    _, pending = await offered(database, session, trader)
    _, rejected = await offered(database, session, trader)
    await signals.decide(session, rejected.id, trader.id, False, ApprovalChannel.bot, utcnow())
    expiring, soon_expired = await offered(database, session, trader)
    await approve(session, soon_expired)
    cancelled_signal, cancelled = await offered(database, session, trader)
    await approve(session, cancelled)
    await signals.cancel(session, cancelled_signal.id, None, utcnow())
    row = await session.get(Signal, expiring.id)
    assert row is not None
    row.expires_at = utcnow() - timedelta(seconds=1)
    await session.commit()

    assert await poll(client, device) == []
    for approval in (pending, rejected, soon_expired, cancelled):
        response = await send(
            client, device, "POST", ACK, {"approval_id": approval.id, "status": "skipped"}
        )
        expected = 200 if approval is soon_expired or approval is cancelled else 404
        assert response.status_code == expected, response.text


async def test_a_device_on_an_unlinked_account_gets_no_signals(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    trader: User,
    device: devices.Registration,
) -> None:
    """Unlinking an MT5 account stops the signals to the device that reports it, at once."""
    link = await create_account_link(session, trader, device_id=device.device.id)
    await session.commit()
    _, approval = await offered(database, session, trader)
    await approve(session, approval)
    await accounts.unlink(session, trader.id, link.id, utcnow())
    await session.commit()
    assert await poll(client, device) == []


async def test_long_poll_wakes_when_the_user_approves(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    trader: User,
    device: devices.Registration,
) -> None:
    _, approval = await offered(database, session, trader)
    started = time.monotonic()
    waiting = asyncio.create_task(poll(client, device, wait=20))
    await poll_waiting(database, trader)
    assert not waiting.done()
    await approve(session, approval)
    # The test's sessions share one connection, so the decision commits on the test session
    # and its live update is published once that commit is over (the transaction owner does
    # this in production; the browser test goes through it end to end).
    for message in take_pending(session):
        await database.bus.publish(message.channel, message.data)
    taken = await asyncio.wait_for(waiting, 10)
    assert [s["approval_id"] for s in taken] == [approval.id]
    assert time.monotonic() - started < 10


async def test_one_approval_hands_over_to_all_waiting_devices_at_once(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    settings: Settings,
    trader: User,
    device: devices.Registration,
) -> None:
    """A new approval request wakes no device; the approval wakes all of them, and they take
    it in one statement together, each once."""
    fleet = [device] + [
        await create_device(session, settings, trader, name=f"MT5 {n}") for n in (2, 3)
    ]
    await session.commit()
    waiting = []
    for number, registration in enumerate(fleet, start=1):
        waiting.append(asyncio.create_task(poll(client, registration, wait=20)))
        await poll_waiting(database, trader, polls=number)

    statements: list[str] = []

    def record(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        _, approval = await offered(database, session, trader)
        await asyncio.sleep(0.3)
        assert not any(task.done() for task in waiting)
        assert not [s for s in statements if "ea_deliveries" in s]

        await approve(session, approval)
        for message in take_pending(session):
            await database.bus.publish(message.channel, message.data)
        taken = await asyncio.wait_for(asyncio.gather(*waiting), 10)
    finally:
        event.remove(database.engine.sync_engine, "before_cursor_execute", record)
    assert [[s["approval_id"] for s in signals] for signals in taken] == [[approval.id]] * 3
    assert len([s for s in statements if s.startswith("INSERT INTO ea_deliveries")]) == 1
    assert [await poll(client, registration) for registration in fleet] == [[]] * 3


async def test_a_long_poll_ends_when_the_device_hangs_up(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    trader: User,
    device: devices.Registration,
) -> None:
    """It stops waiting at once, and the device gets the signal at its next poll."""
    _, approval = await offered(database, session, trader)

    async def as_office(_: AsyncSession) -> devices.AuthenticatedDevice:
        return devices.AuthenticatedDevice(device.device.id, trader.id, "Office MT5")

    started = time.monotonic()
    traffic, handover = DeviceTraffic(database, 1), bridge.Handover(database, timedelta(seconds=60))
    hung_up = await bridge.long_poll(traffic, handover, as_office, 20, lambda: asyncio.sleep(0.2))
    assert hung_up == []
    assert time.monotonic() - started < 5
    await approve(session, approval)
    assert [s["approval_id"] for s in await poll(client, device)] == [approval.id]


async def test_a_poll_whose_device_hung_up_while_queued_takes_nothing(
    client: httpx.AsyncClient,
    database: Database,
    trader: User,
    approval: Approval,
    device: devices.Registration,
) -> None:

    async def never(_: AsyncSession) -> devices.AuthenticatedDevice:
        raise AssertionError("authenticated a poll nobody waits for")

    async def already_gone() -> None:
        return None

    traffic, handover = DeviceTraffic(database, 1), bridge.Handover(database, timedelta(seconds=60))
    assert await bridge.long_poll(traffic, handover, never, 20, already_gone) == []
    assert [s["approval_id"] for s in await poll(client, device)] == [approval.id]


async def test_long_poll_answers_empty_after_the_wait(
    client: httpx.AsyncClient, device: devices.Registration
) -> None:
    started = time.monotonic()
    assert await poll(client, device, wait=1) == []
    assert 0.9 <= time.monotonic() - started < 5


@pytest.mark.parametrize("wait", ["-1", "31", "x"])
async def test_bad_waits_are_422(
    client: httpx.AsyncClient, device: devices.Registration, wait: str
) -> None:
    response = await send(client, device, "GET", f"{POLL}?wait={wait}")
    assert response.status_code == 422


async def test_first_ack_wins_and_tells_the_trader(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    settings: Settings,
    telegram_api: FakeTelegramAPI,
    trader: User,
    approval: Approval,
    device: devices.Registration,
) -> None:
    await poll(client, device)
    executed = {
        "approval_id": approval.id,
        "status": "executed",
        "ticket": 123456,
        "price": "1.08512",
        "volume": "0.10",
    }
    first = await send(client, device, "POST", ACK, executed)
    assert first.status_code == 200, first.text
    assert first.json() | {"acked_at": None} == {
        "approval_id": approval.id,
        "device_id": device.device.id,
        "status": "executed",
        "ticket": 123456,
        "price": "1.08512",
        "volume": "0.1",
        "error": None,
        "acked_at": None,
    }
    again = await send(client, device, "POST", ACK, {**executed, "price": 1.08512})
    assert again.status_code == 200
    assert again.json() == first.json()
    different = await send(
        client,
        device,
        "POST",
        ACK,
        {"approval_id": approval.id, "status": "failed", "error": "market closed"},
    )
    assert different.status_code == 409
    assert different.json()["error"]["code"] == "already_acked"

    notices = (
        await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "ea_execution"))
    ).all()
    assert [n.text for n in notices] == [
        "EURUSD buy executed at 1.08512, ticket 123456 (Office MT5)"
    ]
    # The signal message and its edit reach the same chat first; no pause between them here.
    await drain_outbox(settings.model_copy(update={"telegram_chat_interval_s": 0}), database)
    assert (
        "EURUSD buy executed at 1.08512, ticket 123456 (Office MT5)"
        in telegram_api.delivered_texts()
    )

    audited = await AuditRepository(session).for_subject("device", str(device.device.id))
    assert [e.action for e in audited] == ["device.registered", "device.ack", "device.ack_refused"]
    assert audited[1].data["price"] == "1.08512"


async def test_failed_and_skipped_acks_say_why(
    client: httpx.AsyncClient,
    database: Database,
    session: AsyncSession,
    trader: User,
    device: devices.Registration,
) -> None:
    _, failing = await offered(database, session, trader)
    _, skipping = await offered(database, session, trader, symbol="GBPUSD")
    await approve(session, failing)
    await approve(session, skipping)
    for approval, status, error in (
        (failing, "failed", "not enough money"),
        (skipping, "skipped", None),
    ):
        payload = {"approval_id": approval.id, "status": status}
        if error:
            payload["error"] = error
        response = await send(client, device, "POST", ACK, payload)
        assert response.status_code == 200, response.text
    texts = (
        await session.scalars(
            select(OutboxMessage.text)
            .where(OutboxMessage.kind == "ea_execution")
            .order_by(OutboxMessage.id)
        )
    ).all()
    assert texts == [
        "EURUSD buy failed on Office MT5: not enough money",
        "GBPUSD buy skipped on Office MT5: no reason given",
    ]


@pytest.mark.parametrize(
    "payload",
    [
        {"approval_id": 1, "status": "taken"},
        {"approval_id": 1, "status": "executed"},
        {"approval_id": 1, "status": "executed", "ticket": 1},
        {"approval_id": 0, "status": "skipped"},
        {"approval_id": 2**63, "status": "skipped"},
        {"approval_id": 1, "status": "executed", "ticket": 1, "price": "-1"},
        {"approval_id": 1, "status": "executed", "ticket": -1, "price": "1"},
        {"approval_id": 1, "status": "failed", "error": "nul\x00"},
        {"approval_id": 1, "status": "failed", "error": "x" * 501},
        {"approval_id": 1, "status": "failed", "surprise": True},
        {"approval_id": "one", "status": "failed"},
        {"status": "failed"},
    ],
)
async def test_bad_acks_are_422(
    client: httpx.AsyncClient, device: devices.Registration, payload: dict[str, Any]
) -> None:
    response = await send(client, device, "POST", ACK, payload)
    assert response.status_code == 422, response.text
    assert response.json()["error"]["code"] == "validation_error"


async def test_unknown_approval_is_404(
    client: httpx.AsyncClient, device: devices.Registration
) -> None:
    response = await send(client, device, "POST", ACK, {"approval_id": 10**12, "status": "skipped"})
    assert response.status_code == 404


async def test_a_revoked_device_polls_no_more(
    client: httpx.AsyncClient, session: AsyncSession, trader: User, device: devices.Registration
) -> None:
    await devices.revoke(session, trader.id, device.device.id, utcnow())
    await session.commit()
    response = await send(client, device, "GET", POLL)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "device_revoked"


@pytest.mark.postgres
async def test_concurrent_polls_and_acks_on_postgres(
    committing_database: Database, settings: Settings
) -> None:
    """Six polls of one device at once take the signal once; ten different acks at once leave
    one recorded ack, one notice, and 409s for the rest. (Modest numbers: the PostgreSQL
    server is shared.)"""
    async with committing_database.transaction() as session:
        user = await create_subscriber(session, Tier.vip, telegram_id=8101)
        registration = await create_device(session, settings, user)
        published = await publish(session)
    await fan_out(committing_database)
    async with committing_database.transaction() as session:
        approval = await session.scalar(select(Approval).where(Approval.signal_id == published.id))
        assert approval is not None
        await signals.decide(session, approval.id, user.id, True, ApprovalChannel.bot, utcnow())

    app = create_app(settings, committing_database)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            polls = await asyncio.gather(*(poll(client, registration) for _ in range(6)))
            acks = await asyncio.gather(
                *(
                    send(
                        client,
                        registration,
                        "POST",
                        ACK,
                        {
                            "approval_id": approval.id,
                            "status": "executed",
                            "ticket": ticket,
                            "price": "1.085",
                        },
                    )
                    for ticket in range(1, 11)
                )
            )
    assert sorted(len(taken) for taken in polls) == [0] * 5 + [1]
    assert sorted(r.status_code for r in acks) == [200] + [409] * 9
    winner = next(r.json() for r in acks if r.status_code == 200)
    assert Decimal(winner["price"]) == Decimal("1.085")
    async with committing_database.transaction() as session:
        notices = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "ea_execution"))
        ).all()
    assert [n.text for n in notices] == [
        f"EURUSD buy executed at 1.085, ticket {winner['ticket']} (Office MT5)"
    ]
