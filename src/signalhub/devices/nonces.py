"""Where the nonces of signed device requests are remembered for the replay window: Redis when
configured, the database otherwise (and while Redis does not answer). Both are shared by every
API instance."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Protocol

from redis.asyncio import Redis
from redis.exceptions import RedisError
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.devices.repository import DeviceNonceRepository
from signalhub.kit.redis_outage import REDIS_RETRY_AFTER_S, RedisOutage, connect


class NonceStore(Protocol):
    async def remember(
        self, session: AsyncSession, device_id: int, nonce: str, now: datetime, ttl_s: int
    ) -> bool:
        """True the first time a nonce is seen within `ttl_s`; False for a replay."""
        ...

    async def close(self) -> None: ...


class RedisNonceStore:
    """While Redis does not answer, the database remembers the nonces: devices keep trading
    through an outage. A nonce Redis took just before the outage is unknown to the database, so
    during an outage a replay is refused only if its nonce was first used during the outage."""

    def __init__(self, url: str, *, retry_after_s: float = REDIS_RETRY_AFTER_S) -> None:
        self._redis: Redis = connect(url)
        self._fallback = DatabaseNonceStore()
        self._outage = RedisOutage(
            while_down="device nonces are remembered in the database until it answers",
            when_back="device nonces are remembered in Redis",
            retry_after_s=retry_after_s,
        )

    async def remember(
        self, session: AsyncSession, device_id: int, nonce: str, now: datetime, ttl_s: int
    ) -> bool:
        if not self._outage.skipping:
            key = f"signalhub:nonce:{device_id}:{nonce}"
            try:
                stored = await self._redis.set(key, 1, nx=True, ex=ttl_s)
            except RedisError as error:
                self._outage.failed(error)
            else:
                self._outage.answered()
                return bool(stored)
        return await self._fallback.remember(session, device_id, nonce, now, ttl_s)

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
