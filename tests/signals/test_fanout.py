"""Fan-out: who gets a signal, and exactly one approval and one message each, whatever crashes."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import (
    Approval,
    OutboxMessage,
    OutboxStatus,
    Priority,
    Signal,
    Tier,
)
from signalhub.signals import service
from signalhub.signals.callbacks import ApprovalCallback
from signalhub.users import service as users
from signalhub.worker.runner import Worker
from tests.factories import create_subscriber, create_user
from tests.helpers import eventually
from tests.signals.conftest import fan_out, publish


async def offered_to(session: AsyncSession, signal: Signal) -> set[int]:
    return set(
        await session.scalars(select(Approval.user_id).where(Approval.signal_id == signal.id))
    )


async def test_each_eligible_user_gets_one_approval_and_one_message_with_buttons(
    database: Database, session: AsyncSession
) -> None:
    traders = [await create_subscriber(session, Tier.premium) for _ in range(3)]
    await session.commit()
    signal = await publish(session)
    await session.commit()

    assert await fan_out(database, batch_size=2) == 3

    approvals = (
        await session.scalars(select(Approval).where(Approval.signal_id == signal.id))
    ).all()
    assert {approval.user_id for approval in approvals} == {trader.id for trader in traders}
    for approval in approvals:
        message = await session.get(OutboxMessage, approval.outbox_message_id)
        assert message is not None
        assert message.priority == Priority.signal
        assert message.expires_at == signal.expires_at
        assert "EURUSD BUY market" in message.text
        assert message.buttons is not None
        approve, reject = message.buttons[0]
        assert ApprovalCallback.unpack(approve["callback_data"]) == ApprovalCallback(
            approval_id=approval.id, approve=True
        )
        assert ApprovalCallback.unpack(reject["callback_data"]).approve is False
    await session.refresh(signal)
    assert signal.fanout_finished_at is not None


async def test_eligibility_follows_the_current_tier_and_its_expiry(
    database: Database, session: AsyncSession
) -> None:
    now = utcnow()
    free = await create_user(session)
    premium = await create_subscriber(session, Tier.premium)
    vip = await create_subscriber(session, Tier.vip)
    enterprise = await create_subscriber(session, Tier.enterprise)
    lapsed_vip = await create_subscriber(
        session, Tier.vip, now=now - timedelta(days=31), duration_days=30
    )
    blocked_vip = await create_subscriber(session, Tier.vip)
    await users.set_bot_blocked(session, blocked_vip.telegram_id, True)
    await session.commit()

    for_vip = await publish(session, min_tier="vip")
    for_premium = await publish(session)
    for_everyone = await publish(session, min_tier="free")
    await session.commit()
    await fan_out(database)

    assert await offered_to(session, for_vip) == {vip.id, enterprise.id}
    assert await offered_to(session, for_premium) == {premium.id, vip.id, enterprise.id}
    assert {free.id, premium.id, vip.id, enterprise.id, lapsed_vip.id} <= await offered_to(
        session, for_everyone
    )
    assert blocked_vip.id not in await offered_to(session, for_everyone)


async def test_an_expired_or_cancelled_signal_is_not_fanned_out(
    database: Database, session: AsyncSession
) -> None:
    await create_subscriber(session)
    expired = await publish(session, now=utcnow() - timedelta(minutes=20))
    cancelled = await publish(session)
    await service.cancel(session, cancelled.id, None, utcnow())
    await session.commit()
    assert await fan_out(database) == 0
    assert await offered_to(session, expired) == set()
    assert await offered_to(session, cancelled) == set()


class Crash(Exception):
    pass


async def count_rows(session: AsyncSession, signal: Signal) -> tuple[int, int, int]:
    approvals = await session.scalar(
        select(func.count()).select_from(Approval).where(Approval.signal_id == signal.id)
    )
    messages = await session.scalar(
        select(func.count())
        .select_from(OutboxMessage)
        .join(Approval, Approval.outbox_message_id == OutboxMessage.id)
        .where(Approval.signal_id == signal.id)
    )
    orphans = await session.scalar(
        select(func.count())
        .select_from(Approval)
        .where(Approval.signal_id == signal.id, Approval.outbox_message_id.is_(None))
    )
    return int(approvals or 0), int(messages or 0), int(orphans or 0)


async def crash_during_a_batch(database: Database) -> None:
    async with database.transaction() as work:
        assert await service.fan_out_batch(work, utcnow(), 3) == 3
        raise Crash  # the process dies before the batch commits


async def test_a_crashed_batch_leaves_nothing_half_written_and_resuming_offers_nobody_twice(
    database: Database, session: AsyncSession
) -> None:
    traders = [await create_subscriber(session) for _ in range(7)]
    signal = await publish(session)
    await session.commit()

    async with database.transaction() as work:
        assert await service.fan_out_batch(work, utcnow(), 3) == 3
    with pytest.raises(Crash):
        await crash_during_a_batch(database)
    assert await count_rows(session, signal) == (3, 3, 0)

    # A worker that lost its place altogether (cursor back at the start) is still harmless.
    await session.refresh(signal)
    signal.fanout_cursor = 0
    await session.commit()
    await fan_out(database, batch_size=3)

    assert await count_rows(session, signal) == (7, 7, 0)
    assert await offered_to(session, signal) == {trader.id for trader in traders}
    chats = list(
        await session.scalars(
            select(OutboxMessage.chat_id)
            .join(Approval, Approval.outbox_message_id == OutboxMessage.id)
            .where(Approval.signal_id == signal.id)
        )
    )
    assert sorted(chats) == sorted(trader.telegram_id for trader in traders)


@pytest.mark.postgres
async def test_concurrent_workers_fan_out_once(committing_database: Database) -> None:
    async with committing_database.transaction() as session:
        traders = [await create_subscriber(session) for _ in range(40)]
        signals = [await publish(session) for _ in range(3)]

    covered = await asyncio.gather(*(fan_out(committing_database, 7) for _ in range(4)))

    assert sum(covered) >= 40 * 3
    async with committing_database.transaction() as session:
        for signal in signals:
            assert await count_rows(session, signal) == (40, 40, 0)
            assert await offered_to(session, signal) == {trader.id for trader in traders}
        stored = (await session.scalars(select(Signal))).all()
        assert all(signal.fanout_finished_at is not None for signal in stored)
        statuses = set(await session.scalars(select(OutboxMessage.status)))
        assert statuses == {OutboxStatus.pending}


async def test_the_worker_fans_out_a_signal_as_soon_as_it_is_published(
    committing_database: Database, settings: Settings
) -> None:
    async with committing_database.transaction() as session:
        trader = await create_subscriber(session)
    worker = Worker(settings, committing_database, jobs=(), send_outbox=False)
    async with worker.running():
        await asyncio.sleep(0.1)  # the loop is idle, waiting for a wake-up
        async with committing_database.transaction() as session:
            signal = await publish(session)

        async def offered() -> bool:
            async with committing_database.transaction() as session:
                return await offered_to(session, signal) == {trader.id}

        await eventually(offered, timeout_s=10)
