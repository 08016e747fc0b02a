"""A hand-over is leased: a signal a device took but never acknowledged (the answer that carried
it was lost) is offered to that device again once the lease ends, and each re-offer renews the
lease; an acknowledged one never is; within a lease concurrent polls of one device never both
get it. Time is driven through `now`."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.devices import bridge
from signalhub.devices import service as devices
from signalhub.devices.schemas import AckIn
from signalhub.kit.time import utcnow
from signalhub.models import Approval, ApprovalChannel, OutboxMessage, Tier, User
from signalhub.signals import service as signals
from tests.devices.conftest import approve
from tests.factories import create_device, create_subscriber
from tests.signals.conftest import fan_out, offered, publish

LEASE = timedelta(seconds=60)
SECOND = timedelta(seconds=1)


def authenticated(registration: devices.Registration) -> devices.AuthenticatedDevice:
    device = registration.device
    return devices.AuthenticatedDevice(device.id, device.user_id, device.name)


async def taken_by(
    session: AsyncSession, user: User, fleet: list[devices.Registration], now: datetime
) -> dict[int, list[int]]:
    """Approval ids handed to each device of `fleet` at `now`, by device id."""
    taken = await bridge.take(session, user.id, [r.device.id for r in fleet], now, LEASE)
    return {device_id: [s.approval_id for s in handed] for device_id, handed in taken.items()}


async def test_an_unacknowledged_signal_is_offered_again_once_its_lease_ends(
    session: AsyncSession,
    trader: User,
    device: devices.Registration,
    approval: Approval,
) -> None:
    office = device.device.id
    handed_at = utcnow()

    assert await taken_by(session, trader, [device], handed_at) == {office: [approval.id]}
    assert await taken_by(session, trader, [device], handed_at + LEASE - SECOND) == {}
    offered_again_at = handed_at + LEASE
    assert await taken_by(session, trader, [device], offered_again_at) == {office: [approval.id]}
    # The re-offer renewed the lease.
    assert await taken_by(session, trader, [device], offered_again_at + LEASE - SECOND) == {}
    assert await taken_by(session, trader, [device], offered_again_at + LEASE) == {
        office: [approval.id]
    }


async def test_an_acknowledged_signal_is_never_offered_again(
    session: AsyncSession,
    trader: User,
    device: devices.Registration,
    approval: Approval,
) -> None:
    handed_at = utcnow()
    assert await taken_by(session, trader, [device], handed_at) == {device.device.id: [approval.id]}
    skipped = AckIn(approval_id=approval.id, status="skipped", error="market closed")
    await bridge.ack(session, authenticated(device), skipped, handed_at + SECOND)

    for later in (LEASE, 2 * LEASE, 10 * LEASE):
        assert await taken_by(session, trader, [device], handed_at + later) == {}


async def test_an_ack_after_a_re_offer_counts_once_and_the_same_ack_again_answers_the_same(
    session: AsyncSession,
    trader: User,
    device: devices.Registration,
    approval: Approval,
) -> None:
    """The device executed the signal but its ack was lost; offered the signal again, it sends
    its recorded ack twice (the first answer was lost too): one ack, one notice."""
    handed_at = utcnow()
    await taken_by(session, trader, [device], handed_at)
    assert await taken_by(session, trader, [device], handed_at + LEASE) == {
        device.device.id: [approval.id]
    }
    executed = AckIn.model_validate(
        {"approval_id": approval.id, "status": "executed", "ticket": 42, "price": "1.085"}
    )
    first = await bridge.ack(session, authenticated(device), executed, handed_at + LEASE)
    again = await bridge.ack(session, authenticated(device), executed, handed_at + 2 * LEASE)
    assert again == first
    notices = (
        await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "ea_execution"))
    ).all()
    assert len(notices) == 1
    assert await taken_by(session, trader, [device], handed_at + 3 * LEASE) == {}


async def test_only_the_device_that_did_not_ack_is_offered_the_signal_again(
    session: AsyncSession,
    settings: Settings,
    trader: User,
    approval: Approval,
    device: devices.Registration,
) -> None:
    laptop = await create_device(session, settings, trader, name="Laptop MT5")
    await session.commit()
    handed_at = utcnow()
    fleet = [device, laptop]
    assert await taken_by(session, trader, fleet, handed_at) == {
        device.device.id: [approval.id],
        laptop.device.id: [approval.id],
    }
    ack = AckIn(approval_id=approval.id, status="skipped")
    await bridge.ack(session, authenticated(device), ack, handed_at + SECOND)

    assert await taken_by(session, trader, fleet, handed_at + LEASE - SECOND) == {}
    assert await taken_by(session, trader, fleet, handed_at + LEASE) == {
        laptop.device.id: [approval.id]
    }


async def test_an_expired_or_cancelled_signal_is_not_offered_again(
    database: Database, session: AsyncSession, trader: User, device: devices.Registration
) -> None:
    expiring_signal, expiring = await offered(database, session, trader)
    cancelled_signal, cancelled = await offered(database, session, trader, symbol="GBPUSD")
    await approve(session, expiring)
    await approve(session, cancelled)
    handed_at = utcnow()
    assert await taken_by(session, trader, [device], handed_at) == {
        device.device.id: [expiring.id, cancelled.id]
    }
    await signals.cancel(session, cancelled_signal.id, None, handed_at)
    await session.commit()
    assert expiring_signal.expires_at > handed_at + LEASE
    assert await taken_by(session, trader, [device], handed_at + LEASE) == {
        device.device.id: [expiring.id]
    }
    later = expiring_signal.expires_at + LEASE
    assert await taken_by(session, trader, [device], later) == {}


@pytest.mark.postgres
async def test_concurrent_polls_of_one_device_never_share_a_lease_on_postgres(
    committing_database: Database, settings: Settings
) -> None:
    """A lost hand-over, then six polls of the same device at once after its lease ended: one
    of them gets the signal again; a second round within the new lease gets nothing; a round
    after it, one again."""
    async with committing_database.transaction() as session:
        user = await create_subscriber(session, Tier.vip, telegram_id=8201)
        registration = await create_device(session, settings, user)
        published = await publish(session)
    await fan_out(committing_database)
    async with committing_database.transaction() as session:
        approval = await session.scalar(select(Approval).where(Approval.signal_id == published.id))
        assert approval is not None
        await signals.decide(session, approval.id, user.id, True, ApprovalChannel.bot, utcnow())

    async def poll_at(now: datetime) -> list[int]:
        async with committing_database.transaction() as session:
            taken = await bridge.take(session, user.id, [registration.device.id], now, LEASE)
        return [s.approval_id for s in taken.get(registration.device.id, [])]

    async def polls_at_once(now: datetime) -> list[list[int]]:
        return sorted(await asyncio.gather(*(poll_at(now) for _ in range(6))))

    handed_at = utcnow()
    assert await polls_at_once(handed_at) == [[]] * 5 + [[approval.id]]
    offered_again_at = handed_at + LEASE
    assert await polls_at_once(offered_again_at) == [[]] * 5 + [[approval.id]]
    assert await polls_at_once(offered_again_at + LEASE - SECOND) == [[]] * 6
    assert await polls_at_once(offered_again_at + LEASE) == [[]] * 5 + [[approval.id]]
