"""Background work for signals, run by the worker."""

from __future__ import annotations

import asyncio
import logging

from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.signals import service

logger = logging.getLogger("signalhub.signals")

# Without a wake-up on the bus (e.g. published by another process without Redis), a waiting
# signal is found within this many seconds.
FANOUT_IDLE_S = 1.0


async def fan_out_until_idle(database: Database, batch_size: int) -> int:
    """Batches, each its own transaction, until no signal waits; users covered."""
    covered = 0
    while True:
        async with database.transaction() as session:
            batch = await service.fan_out_batch(session, utcnow(), batch_size)
        if batch is None:
            return covered
        covered += batch


async def fan_out_forever(database: Database, batch_size: int) -> None:
    async with database.bus.subscribe(service.FANOUT_CHANNEL) as wake_ups:
        while True:
            try:
                covered = await fan_out_until_idle(database, batch_size)
                if covered:
                    logger.info("signal fan-out", extra={"users": covered})
            except asyncio.CancelledError:
                raise
            except Exception:
                logger.exception("signal fan-out failed; resuming from its cursor")
            await wake_ups.get(within_s=FANOUT_IDLE_S)
