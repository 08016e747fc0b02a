"""The positions cache: a fresh entry for `ttl_s`, and the last snapshot kept longer so a failed
gateway read can still answer (marked stale). Redis when configured, so every API instance shares
it; memory otherwise."""

from __future__ import annotations

import time
from typing import Protocol

from redis.asyncio import Redis

# The last snapshot outlives the fresh entry: it is what a reader gets while the broker is down.
LAST_SNAPSHOT_TTL_S = 7 * 24 * 3600
_MEMORY_ENTRIES_LIMIT = 100_000


class SnapshotCache(Protocol):
    async def fresh(self, key: str) -> bytes | None: ...

    async def last(self, key: str) -> bytes | None: ...

    async def put(self, key: str, value: bytes, ttl_s: float) -> None: ...

    async def close(self) -> None: ...


class MemorySnapshotCache:
    def __init__(self) -> None:
        self._fresh: dict[str, tuple[float, bytes]] = {}
        self._last: dict[str, bytes] = {}

    async def fresh(self, key: str) -> bytes | None:
        entry = self._fresh.get(key)
        if entry is None or entry[0] <= time.monotonic():
            return None
        return entry[1]

    async def last(self, key: str) -> bytes | None:
        return self._last.get(key)

    async def put(self, key: str, value: bytes, ttl_s: float) -> None:
        if len(self._last) > _MEMORY_ENTRIES_LIMIT:
            self._fresh.clear()
            self._last.clear()
        self._fresh[key] = (time.monotonic() + ttl_s, value)
        self._last[key] = value

    async def close(self) -> None:
        self._fresh.clear()
        self._last.clear()


class RedisSnapshotCache:
    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url)

    async def fresh(self, key: str) -> bytes | None:
        value = await self._redis.get(f"signalhub:positions:fresh:{key}")
        return value.encode() if isinstance(value, str) else value

    async def last(self, key: str) -> bytes | None:
        value = await self._redis.get(f"signalhub:positions:last:{key}")
        return value.encode() if isinstance(value, str) else value

    async def put(self, key: str, value: bytes, ttl_s: float) -> None:
        async with self._redis.pipeline(transaction=True) as pipeline:
            pipeline.set(f"signalhub:positions:fresh:{key}", value, px=int(ttl_s * 1000))
            pipeline.set(f"signalhub:positions:last:{key}", value, ex=LAST_SNAPSHOT_TTL_S)
            await pipeline.execute()

    async def close(self) -> None:
        await self._redis.aclose()


def build_snapshot_cache(redis_url: str | None) -> SnapshotCache:
    return RedisSnapshotCache(redis_url) if redis_url else MemorySnapshotCache()
