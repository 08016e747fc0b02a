"""Outbox sender against the fake Bot API enforcing Telegram's limits (30 msg/s per bot, 1 msg/s
per chat): a broadcast of SIGNALHUB_BENCH_SENDER_MESSAGES (default 10,000) to many chats, with a
signal queued behind it. Reports the achieved rate as a share of the limit, sends over the
limits (must be 0), duplicates (must be 0) and how long the signal waited. PostgreSQL by
default (SIGNALHUB_BENCH_DATABASE_URL to change). At 30 msg/s, 10,000 messages take ~6 min.
The fake runs in a process of its own (bench/_fake_bot_api.py): in this event loop its arrival
times would carry the sender's scheduling delays."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from tests.helpers import eventually

from bench._fake_bot_api import FakeBotApiProcess
from bench.broadcasts import git_commit
from bench.common import bench_database_url, fresh_database
from signalhub.bot.dispatcher import create_bot
from signalhub.config import Environment, Settings
from signalhub.db import Database
from signalhub.models import OutboxMessage, OutboxStatus, Priority
from signalhub.outbox import service as outbox
from signalhub.outbox.sender import OutboxSender

RATE_PER_S = 30.0
CHAT_INTERVAL_S = 1.0
# Each Bot API call takes this long at the fake, like a real round trip.
LATENCY_S = 0.03
MESSAGES_PER_CHAT = 2
SIGNAL_TEXT = "SIGNAL: EURUSD buy @ 1.0850"
# The signal is queued once this share of the broadcast has gone out.
SIGNAL_AFTER = 0.1


def message_count() -> int:
    return int(os.environ.get("SIGNALHUB_BENCH_SENDER_MESSAGES", "10000"))


async def unfinished(database: Database) -> int:
    async with database.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sending]))
        )
    return int(count or 0)


async def main() -> dict[str, Any]:
    total = message_count()
    url = bench_database_url()
    database = await fresh_database(url)
    async with FakeBotApiProcess(LATENCY_S) as fake:
        return await _send_all(database, url, fake, total)


async def _send_all(
    database: Database, url: str, fake: FakeBotApiProcess, total: int
) -> dict[str, Any]:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        env=Environment.test,
        database_url=url,
        telegram_bot_token="123456:BenchBotTokenBenchBotTokenBench",
        telegram_api_base=fake.base_url,
        telegram_rate_per_second=RATE_PER_S,
        telegram_chat_interval_s=CHAT_INTERVAL_S,
        run_worker_in_process=False,
    )
    chats = max(1, total // MESSAGES_PER_CHAT)
    async with database.transaction() as session:
        for index in range(total):
            await outbox.enqueue(
                session,
                1_000_000 + index % chats,
                f"broadcast {index}",
                priority=Priority.marketing,
                kind="broadcast",
            )

    bot = create_bot(settings)
    sender = OutboxSender(settings, database, bot)
    task = asyncio.create_task(sender.run())
    try:

        async def signal_due() -> bool:
            return await fake.calls() >= total * SIGNAL_AFTER

        await eventually(signal_due, 3600, 0.25)
        async with database.transaction() as session:
            await outbox.enqueue(session, 42, SIGNAL_TEXT, priority=Priority.signal, kind="signal")
        signal_queued_at = time.monotonic()
        queued_behind = total - await fake.calls()

        async def all_done() -> bool:
            return await unfinished(database) == 0

        await eventually(all_done, 3600, 1.0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bot.session.close()
        await database.dispose()

    sends = await fake.sends()
    moments = sorted(send.at for send in sends)
    elapsed = moments[-1] - moments[0]
    achieved = (len(moments) - 1) / elapsed
    signal_send = next(send for send in sends if send.text == SIGNAL_TEXT)
    deliveries = Counter(send.text for send in sends if send.status == 200)
    violations = await fake.violations(RATE_PER_S, CHAT_INTERVAL_S)
    return {
        "commit": await git_commit(),
        "database": database.dialect,
        "messages": total,
        "chats": chats,
        "limit_per_s": RATE_PER_S,
        "chat_interval_s": CHAT_INTERVAL_S,
        "fake_latency_ms": LATENCY_S * 1000,
        "elapsed_s": round(elapsed, 1),
        "achieved_per_s": round(achieved, 2),
        "share_of_limit": round(achieved / RATE_PER_S, 3),
        "over_rate_limit": violations["over_rate"],
        "over_chat_limit": violations["over_chat"],
        "breaches": violations["details"],
        "duplicates": sum(count - 1 for count in deliveries.values() if count > 1),
        "delivered": sum(deliveries.values()),
        "signal_queued_behind": queued_behind,
        "signal_delay_ms": round((signal_send.at - signal_queued_at) * 1000, 1),
        "load_average_end": [round(value, 2) for value in os.getloadavg()],
    }
