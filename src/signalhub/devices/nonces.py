"""Where the nonces of signed device requests are remembered for the replay window: Redis when
configured, the database otherwise. Both are shared by every API instance."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.devices.repository import DeviceNonceRepository


class NonceStore(Protocol):
    async def remember(
        self, session: AsyncSession, device_id: int, nonce: str, now: datetime, ttl_s: int
    ) -> bool:
        """True the first time a nonce is seen within `ttl_s`; False for a replay."""
        ...

    async def close(self) -> None: ...


class RedisNonceStore:
    def __init__(self, url: str) -> None:
        self._redis: Redis = Redis.from_url(url)

    async def remember(
        self, session: AsyncSession, device_id: int, nonce: str, now: datetime, ttl_s: int
    ) -> bool:
        stored = await self._redis.set(f"signalhub:nonce:{device_id}:{nonce}", 1, nx=True, ex=ttl_s)
        return bool(stored)

    async def close(self) -> None:
        await self._redis.aclose()


class DatabaseNonceStore:
    """Rows older than the window are purged by the worker (`purge_device_nonces`); until then
    an old row is treated as expired, so a late purge never refuses a fresh request."""

    async def remember(
        self, session: AsyncSession, device_id: int, nonce: str, now: datetime, ttl_s: int
    ) -> bool:
        repository = DeviceNonceRepository(session)
        if await repository.add_if_new(device_id, nonce, now):
            return True
        return await repository.refresh_if_older(
            device_id, nonce, now - timedelta(seconds=ttl_s), now
        )

    async def close(self) -> None:
        return None


def build_nonce_store(redis_url: str | None) -> NonceStore:
    return RedisNonceStore(redis_url) if redis_url else DatabaseNonceStore()
