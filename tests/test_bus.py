"""The live-update bus: in memory, across processes through Redis, and published only after
the transaction that queued a message commits."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator

import pytest

from signalhub.db import Database
from signalhub.errors import Conflict
from signalhub.kit.bus import QUEUE_SIZE, BusMessage, MemoryBus, RedisBus, publish_after_commit

REDIS_URL = os.environ.get("SIGNALHUB_TEST_REDIS_URL")
needs_redis = pytest.mark.skipif(not REDIS_URL, reason="needs Redis: SIGNALHUB_TEST_REDIS_URL")


async def test_a_subscriber_gets_its_channels_messages_in_order() -> None:
    bus = MemoryBus()
    async with bus.subscribe("user:1", "signals") as subscription:
        await bus.publish("user:2", {"n": 0})
        await bus.publish("user:1", {"n": 1})
        await bus.publish("signals", {"n": 2})
        assert await subscription.get(0.1) == BusMessage("user:1", {"n": 1})
        assert await subscription.get(0.1) == BusMessage("signals", {"n": 2})
        assert await subscription.get(0.01) is None
    assert bus.subscriber_count("user:1") == 0


async def test_a_slow_subscriber_loses_the_oldest_messages_not_the_newest() -> None:
    bus = MemoryBus()
    async with bus.subscribe("user:1") as subscription:
        await bus.publish_many(BusMessage("user:1", {"n": n}) for n in range(QUEUE_SIZE + 5))
        first = await subscription.get(0.1)
        assert first is not None
        assert first.data == {"n": 5}


async def publish_then_fail(database: Database) -> None:
    async with database.transaction() as session:
        publish_after_commit(session, "user:7", {"type": "never"})
        raise Conflict("rolled back")


async def test_messages_queued_in_a_transaction_go_out_after_commit_only(
    database: Database,
) -> None:
    async with database.bus.subscribe("user:7") as subscription:
        async with database.transaction() as session:
            publish_after_commit(session, "user:7", {"type": "approval.created"})
            assert await subscription.get(0.01) is None  # not before the commit
        assert await subscription.get(0.5) == BusMessage("user:7", {"type": "approval.created"})

        with pytest.raises(Conflict):
            await publish_then_fail(database)
        assert await subscription.get(0.05) is None


@pytest.fixture
async def redis_buses() -> AsyncIterator[tuple[RedisBus, RedisBus]]:
    assert REDIS_URL is not None
    first, second = RedisBus(REDIS_URL), RedisBus(REDIS_URL)
    yield first, second
    await first.close()
    await second.close()


@needs_redis
async def test_redis_carries_messages_between_processes(
    redis_buses: tuple[RedisBus, RedisBus],
) -> None:
    api_a, api_b = redis_buses
    async with api_b.subscribe("user:42") as subscription:
        await api_a.publish("user:42", {"type": "approval.decided", "approval_id": 9})
        await api_a.publish("user:43", {"type": "not for this subscriber"})
        assert await subscription.get(2) == BusMessage(
            "user:42", {"type": "approval.decided", "approval_id": 9}
        )
        assert await subscription.get(0.2) is None
        async with api_b.subscribe("signals") as later:  # a channel added while listening
            await api_a.publish("signals", {"type": "signal.ended"})
            assert await later.get(2) == BusMessage("signals", {"type": "signal.ended"})


@needs_redis
async def test_many_subscribers_each_get_every_message(
    redis_buses: tuple[RedisBus, RedisBus],
) -> None:
    api_a, api_b = redis_buses

    async def listen(channel: str) -> list[int]:
        async with api_b.subscribe(channel) as subscription:
            ready.release()
            received = []
            while len(received) < 20:
                message = await subscription.get(5)
                assert message is not None
                received.append(int(message.data["n"]))
            return received

    ready = asyncio.Semaphore(0)
    listeners = [asyncio.create_task(listen(f"user:{n % 3}")) for n in range(6)]
    for _ in listeners:
        await ready.acquire()
    await api_a.publish_many(
        BusMessage(f"user:{channel}", {"n": n}) for n in range(20) for channel in range(3)
    )
    assert [await listener for listener in listeners] == [list(range(20))] * 6
