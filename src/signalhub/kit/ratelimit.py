"""Fixed-window counters per key: in memory for one process, in Redis when several API
instances must share the count."""

from __future__ import annotations

import asyncio
import time
from enum import StrEnum
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError

from signalhub.kit.redis_outage import REDIS_RETRY_AFTER_S, REDIS_TIMEOUT_S, RedisOutage, connect


class SharedState(StrEnum):
    """Whether the counts are shared between processes, as `/readyz` reports it."""

    ok = "ok"
    degraded = "degraded"


class RateLimiter(Protocol):
    async def allow(self, key: str, limit: int, window_s: int) -> bool: ...

    async def shared_state(self) -> SharedState | None:
        """None when the counts were never meant to be shared (no Redis configured)."""
        ...

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

    async def shared_state(self) -> SharedState | None:
        return None

    async def close(self) -> None:
        self._windows.clear()


class RedisRateLimiter:
    """Counts in Redis. While Redis does not answer, a per-process count takes over (the limit
    then holds per process, not across them) and Redis is asked again after `retry_after_s`:
    a Redis outage degrades the limit instead of failing every request it guards."""

    def __init__(
        self,
        url: str,
        *,
        retry_after_s: float = REDIS_RETRY_AFTER_S,
        timeout_s: float = REDIS_TIMEOUT_S,
    ) -> None:
        self._redis: Redis = connect(url, timeout_s)
        self._fallback = MemoryRateLimiter()
        self._outage = RedisOutage(
            while_down="rate limits are counted per process until it answers",
            when_back="rate limits are shared between processes",
            retry_after_s=retry_after_s,
        )

    async def allow(self, key: str, limit: int, window_s: int) -> bool:
        if self._outage.skipping:
            return await self._fallback.allow(key, limit, window_s)
        window_key = f"signalhub:ratelimit:{key}:{int(time.time()) // window_s}"
        try:
            async with self._redis.pipeline(transaction=True) as pipeline:
                pipeline.incr(window_key)
                pipeline.expire(window_key, window_s)
                count, _ = await pipeline.execute()
        except RedisError as error:
            self._outage.failed(error)
            return await self._fallback.allow(key, limit, window_s)
        self._outage.answered()
        return int(count) <= limit

    async def shared_state(self) -> SharedState:
        """Asks Redis now, so a probe sees an outage (or its end) before the next sign-in does."""
        try:
            await self._redis.ping()
        except RedisError as error:
            self._outage.failed(error)
            return SharedState.degraded
        self._outage.answered()
        return SharedState.ok

    async def close(self) -> None:
        await self._redis.aclose()
        await self._fallback.close()


def build_rate_limiter(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()
