from __future__ import annotations

import os
import uuid

import pytest

from signalhub.kit.ratelimit import MemoryRateLimiter, RedisRateLimiter, build_rate_limiter


async def test_memory_limiter_counts_per_key() -> None:
    limiter = MemoryRateLimiter()
    assert [await limiter.allow("a", 2, 60) for _ in range(3)] == [True, True, False]
    assert await limiter.allow("b", 2, 60)
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
    await first.close()
    await second.close()
