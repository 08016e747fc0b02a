"""The broadcast scheduler tick, run by every worker (several are safe): start what is due,
queue the next batch of each sending broadcast, and settle outcomes back from the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.marketing import service


async def run_broadcasts(
    session: AsyncSession, now: datetime, settings: Settings
) -> dict[str, int]:
    started = await service.start_due(session, now)
    queued = finished = 0
    for broadcast_id in await service.sending_ids(session):
        queued += await service.fan_out(session, settings, broadcast_id)
        finished += await service.settle(session, broadcast_id, now)
    return {"started": len(started), "queued": queued, "finished": finished}
