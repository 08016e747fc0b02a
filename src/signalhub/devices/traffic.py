"""How much of the database the EA devices may hold at once."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.db import Database

# Of the process's connections, what signed device requests may use together; the rest stays
# free for traders' approvals, the Mini App and the hand-over of approved signals.
DEVICE_SHARE = 0.75


def device_connections(settings: Settings) -> int:
    total = settings.database_pool_size + settings.database_max_overflow
    return max(1, int(total * DEVICE_SHARE))


class DeviceTraffic:
    """The transactions of signed device requests (authentication, the long poll's first look,
    acks) take at most `connections` at once. A fleet of EAs acking and polling again in a
    burst after each approval then queues here, and the next trader's approval and the
    hand-over it wakes do not wait behind it for a connection."""

    def __init__(self, database: Database, connections: int) -> None:
        self.database = database
        self._connections = asyncio.Semaphore(connections)

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        async with self._connections, self.database.transaction() as session:
            yield session
