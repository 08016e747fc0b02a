"""Several workers on PostgreSQL: a due broadcast starts exactly once, and the fan-out queues
each recipient once, whichever worker takes which batch."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from sqlalchemy import func, select

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.marketing import service as marketing
from signalhub.marketing.schemas import BroadcastCreate
from signalhub.models import (
    BroadcastDelivery,
    BroadcastStatus,
    DeliveryStatus,
    OutboxMessage,
    Role,
    User,
)
from signalhub.worker.jobs import default_jobs
from signalhub.worker.runner import Worker
from tests.helpers import eventually
from tests.marketing.conftest import make_template, tick

pytestmark = pytest.mark.postgres
RECIPIENTS = 2500


async def due_broadcast(database: Database, settings: Settings) -> int:
    async with database.transaction() as session:
        session.add_all(
            User(telegram_id=3_000_000 + index, first_name=f"trader {index}", role=Role.user)
            for index in range(RECIPIENTS)
        )
        template = await make_template(session, settings)
        data = BroadcastCreate(template_id=template.id, segment="all")
        return (await marketing.create_broadcast(session, data, None, utcnow())).id


async def test_two_schedulers_racing_start_a_due_broadcast_exactly_once(
    database: Database, settings: Settings
) -> None:
    broadcast_id = await due_broadcast(database, settings)
    now = utcnow()
    results = await asyncio.gather(*(tick(database, settings, now) for _ in range(4)))
    assert sum(result["started"] for result in results) == 1
    async with database.transaction() as session:
        broadcast = await marketing.get(session, broadcast_id)
        deliveries = await session.scalar(
            select(func.count()).where(BroadcastDelivery.broadcast_id == broadcast_id)
        )
    assert broadcast.status is BroadcastStatus.sending
    assert broadcast.targeted_count == deliveries == RECIPIENTS


async def test_two_workers_fan_out_every_recipient_once(
    database: Database, settings: Settings
) -> None:
    broadcast_id = await due_broadcast(database, settings)
    # Nothing is sent here: a rate whose fan-out lead covers every recipient.
    settings = settings.model_copy(update={"telegram_rate_per_second": 1000.0})
    assert marketing.fanout_lead(settings) >= RECIPIENTS
    workers = [
        Worker(settings, database, default_jobs(settings), send_outbox=False) for _ in range(2)
    ]

    async def all_queued() -> bool:
        async with database.transaction() as session:
            if (await marketing.get(session, broadcast_id)).status is BroadcastStatus.scheduled:
                return False
            left = await session.scalar(
                select(func.count()).where(
                    BroadcastDelivery.broadcast_id == broadcast_id,
                    BroadcastDelivery.status == DeliveryStatus.pending,
                )
            )
        return left == 0

    async with workers[0].running(), workers[1].running():
        await eventually(all_queued, timeout_s=60, step_s=0.2)

    async with database.transaction() as session:
        chats = Counter(
            (
                await session.scalars(
                    select(OutboxMessage.chat_id).where(OutboxMessage.kind == "broadcast")
                )
            ).all()
        )
        broadcast = await marketing.get(session, broadcast_id)
    assert len(chats) == RECIPIENTS
    assert set(chats.values()) == {1}
    assert broadcast.targeted_count == RECIPIENTS
