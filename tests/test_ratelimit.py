from __future__ import annotations

import asyncio
import logging
import os
import uuid

import pytest

from signalhub.kit.ratelimit import (
    MemoryRateLimiter,
    RedisRateLimiter,
    SharedState,
    build_rate_limiter,
)
from tests.e2e.server import free_port
from tests.helpers import (
    REDIS_OUTAGE_LOGGER,
    needs_redis_server,
    redis_outage_warnings,
    redis_server,
)


async def test_memory_limiter_counts_per_key() -> None:
    limiter = MemoryRateLimiter()
    assert [await limiter.allow("a", 2, 60) for _ in range(3)] == [True, True, False]
    assert await limiter.allow("b", 2, 60)
    assert await limiter.shared_state() is None
    await limiter.close()


@pytest.mark.skipif(not os.environ.get("SIGNALHUB_TEST_REDIS_URL"), reason="needs Redis")
async def test_redis_limiter_is_shared_between_instances() -> None:
    url = os.environ["SIGNALHUB_TEST_REDIS_URL"]
    first, second = build_rate_limiter(url), build_rate_limiter(url)
    assert isinstance(first, RedisRateLimiter)
    key = f"test:{uuid.uuid4().hex}"
    results = [await first.allow(key, 3, 60), await second.allow(key, 3, 60)]
    results += [await first.allow(key, 3, 60), await second.allow(key, 3, 60)]
    assert results == [True, True, True, False]
    assert await first.shared_state() is SharedState.ok
    await first.close()
    await second.close()


async def test_without_redis_the_limit_is_counted_in_the_process_and_warned_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=REDIS_OUTAGE_LOGGER)
    # Nothing listens there: every connection is refused, as when Redis is stopped.
    limiter = RedisRateLimiter(f"redis://127.0.0.1:{free_port()}/0", retry_after_s=0)
    key = f"test:{uuid.uuid4().hex}"
    assert [await limiter.allow(key, 3, 60) for _ in range(5)] == [True, True, True, False, False]
    assert await limiter.shared_state() is SharedState.degraded
    assert len(redis_outage_warnings(caplog, "rate limits")) == 1
    await limiter.close()


@needs_redis_server
async def test_redis_is_asked_again_after_the_back_off_and_the_count_is_shared_again(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO, logger=REDIS_OUTAGE_LOGGER)
    port = free_port()
    key = f"test:{uuid.uuid4().hex}"
    limiter: RedisRateLimiter | None = None
    try:
        with redis_server(port) as url:
            limiter = RedisRateLimiter(url, retry_after_s=0.3)
            assert await limiter.allow(key, 2, 60)
        # Stopped: this process counts alone, from zero.
        assert [await limiter.allow(key, 2, 60) for _ in range(3)] == [True, True, False]
        assert len(redis_outage_warnings(caplog, "rate limits")) == 1
        with redis_server(port):
            assert not await limiter.allow(key, 2, 60)  # within the back-off: the local count
            await asyncio.sleep(0.35)
            assert await limiter.allow(key, 2, 60)  # Redis again (a new, empty server)
            other_process = RedisRateLimiter(url)
            assert await other_process.allow(key, 2, 60)
            assert not await limiter.allow(key, 2, 60)  # both count in Redis again
            assert await limiter.shared_state() is SharedState.ok
            await other_process.close()
        assert any("answers again" in record.getMessage() for record in caplog.records)
        assert len(redis_outage_warnings(caplog, "rate limits")) == 1
    finally:
        if limiter is not None:
            await limiter.close()
