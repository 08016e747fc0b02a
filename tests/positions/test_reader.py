"""The cached reader: TTL, single-flight, and the last snapshot (stale) when the broker is slow
or failing. Runs over the memory cache and, when SIGNALHUB_TEST_REDIS_URL is set, Redis."""

from __future__ import annotations

import asyncio
import logging
import os
import random
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from signalhub.kit.time import utcnow
from signalhub.models import SnapshotSource
from signalhub.positions.cache import MemorySnapshotCache, RedisSnapshotCache, SnapshotCache
from signalhub.positions.gateway import SimulatedGateway
from signalhub.positions.reader import BrokerUnavailableError, PositionsReader
from signalhub.positions.records import AccountRef, BrokerSnapshot, BrokerUnavailable
from tests.factories import broker_snapshot


class ScriptedBroker:
    """A broker whose answers the test scripts: it counts reads, can be slow, can fail.
    Its snapshots come from the real simulated gateway."""

    source = SnapshotSource.simulated

    def __init__(self) -> None:
        self.reads = 0
        self.delay_s = 0.0
        self.failure: Exception | None = None
        self._simulated = SimulatedGateway(seed=3)

    async def read(self, account: AccountRef) -> BrokerSnapshot:
        self.reads += 1
        await asyncio.sleep(self.delay_s)
        if self.failure is not None:
            raise self.failure
        return await self._simulated.read(account)


@pytest.fixture(params=["memory", "redis"])
async def cache(request: pytest.FixtureRequest) -> AsyncIterator[SnapshotCache]:
    if request.param == "memory":
        memory = MemorySnapshotCache()
        yield memory
        await memory.close()
        return
    url = os.environ.get("SIGNALHUB_TEST_REDIS_URL")
    if not url:
        pytest.skip("needs Redis: set SIGNALHUB_TEST_REDIS_URL")
    redis = RedisSnapshotCache(url)
    yield redis
    await redis.close()


def an_account() -> AccountRef:
    # Random ids: the Redis cache outlives a test.
    return AccountRef(random.randrange(1, 2**62), 5_123_456, "Simulated-Demo")


def reader_for(broker: ScriptedBroker, cache: SnapshotCache, **options: float) -> PositionsReader:
    settings = {"ttl_s": 30.0, "timeout_s": 2.0, "stale_after_s": 120.0, **options}
    return PositionsReader(broker, cache, **settings)


async def test_a_fresh_reading_is_served_from_the_cache_until_the_ttl(cache: SnapshotCache) -> None:
    broker = ScriptedBroker()
    reader = reader_for(broker, cache, ttl_s=0.3)
    account = an_account()
    first = await reader.read(account)
    second = await reader.read(account)
    assert broker.reads == 1
    assert second == first
    assert not first.stale
    await asyncio.sleep(0.35)
    third = await reader.read(account)
    assert broker.reads == 2
    assert third.snapshot.as_of > first.snapshot.as_of


async def test_100_concurrent_readers_cause_one_gateway_read(cache: SnapshotCache) -> None:
    broker = ScriptedBroker()
    broker.delay_s = 0.2
    reader = reader_for(broker, cache)
    account = an_account()
    readings = await asyncio.gather(*(reader.read(account) for _ in range(100)))
    assert broker.reads == 1
    assert len({reading.snapshot for reading in readings}) == 1


async def test_a_slow_broker_answers_the_last_snapshot_marked_stale(
    cache: SnapshotCache, caplog: pytest.LogCaptureFixture
) -> None:
    broker = ScriptedBroker()
    reader = reader_for(broker, cache, ttl_s=0.05, timeout_s=0.1)
    account = an_account()
    fresh = await reader.read(account)
    await asyncio.sleep(0.06)

    broker.delay_s = 1.0
    with caplog.at_level(logging.WARNING, logger="signalhub.positions"):
        stale = await reader.read(account)
    assert stale.stale
    assert stale.snapshot.as_of == fresh.snapshot.as_of
    assert stale.snapshot == fresh.snapshot
    [record] = [r for r in caplog.records if r.name == "signalhub.positions"]
    assert "TimeoutError" in record.error  # type: ignore[attr-defined]


async def test_a_failing_broker_answers_the_last_snapshot_or_503_without_one(
    cache: SnapshotCache,
) -> None:
    broker = ScriptedBroker()
    reader = reader_for(broker, cache, ttl_s=0.05)
    known, unknown = an_account(), an_account()
    fresh = await reader.read(known)
    await asyncio.sleep(0.06)
    broker.failure = BrokerUnavailable("terminal closed")
    stale = await reader.read(known)
    assert (stale.stale, stale.snapshot.as_of) == (True, fresh.snapshot.as_of)
    with pytest.raises(BrokerUnavailableError) as raised:
        await reader.read(unknown)
    assert raised.value.status_code == 503


async def test_a_reader_giving_up_does_not_cancel_the_shared_read(cache: SnapshotCache) -> None:
    broker = ScriptedBroker()
    broker.delay_s = 0.2
    reader = reader_for(broker, cache)
    account = an_account()
    impatient = asyncio.create_task(reader.read(account))
    await asyncio.sleep(0.05)
    impatient.cancel()
    patient = await reader.read(account)
    assert broker.reads == 1
    assert not patient.stale


async def test_an_old_pushed_snapshot_reads_as_stale(cache: SnapshotCache) -> None:
    broker = ScriptedBroker()
    reader = reader_for(broker, cache, stale_after_s=60)
    account = an_account()
    old = broker_snapshot(as_of=utcnow() - timedelta(seconds=61), source=SnapshotSource.simulated)
    await reader.remember(account.link_id, old)
    reading = await reader.read(account)
    assert broker.reads == 0
    assert (reading.stale, reading.snapshot.as_of) == (True, old.as_of)


async def test_a_pushed_snapshot_of_another_source_is_not_cached(cache: SnapshotCache) -> None:
    broker = ScriptedBroker()
    reader = reader_for(broker, cache)
    account = an_account()
    await reader.remember(account.link_id, broker_snapshot(source=SnapshotSource.ea_bridge))
    reading = await reader.read(account)
    assert broker.reads == 1
    assert reading.snapshot.source is SnapshotSource.simulated
