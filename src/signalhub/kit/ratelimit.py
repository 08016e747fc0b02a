"""Fixed-window counters per key: in memory for one process, in Redis when several API
instances must share the count."""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

from redis.asyncio import Redis


class RateLimiter(Protocol):
    async def allow(self, key: str, limit: int, window_s: int) -> bool: ...

    async def close(self) -> None: ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._windows: dict[str, tuple[int, int]] = {}
        self._lock = asyncio.Lock()

    async def allow(self, key: str, limit: int, window_s: int) -> bool:
        window = int(time.time()) // window_s
        async with self._lock:
            started, count = self._windows.get(key, (window, 0))
            if started != window:
                count = 0
                if len(self._windows) > 100_000:
                    self._windows.clear()
            self._windows[key] = (window, count + 1)
        return count + 1 <= limit

    async def close(self) -> None:
        self._windows.clear()


class RedisRateLimiter:
    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url)

    async def allow(self, key: str, limit: int, window_s: int) -> bool:
        window_key = f"signalhub:ratelimit:{key}:{int(time.time()) // window_s}"
        async with self._redis.pipeline(transaction=True) as pipeline:
            pipeline.incr(window_key)
            pipeline.expire(window_key, window_s)
            count, _ = await pipeline.execute()
        return int(count) <= limit

    async def close(self) -> None:
        await self._redis.aclose()


def build_rate_limiter(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()
