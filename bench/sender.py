"""Outbox sender against the fake Bot API enforcing Telegram's limits (30 msg/s per bot, 1 msg/s
per chat): a broadcast of SIGNALHUB_BENCH_SENDER_MESSAGES (default 10,000) to many chats, with a
signal queued behind it. Reports the achieved rate as a share of the limit, sends over the
limits (must be 0), duplicates (must be 0) and how long the signal waited. PostgreSQL by
default (SIGNALHUB_BENCH_DATABASE_URL to change). At 30 msg/s, 10,000 messages take ~6 min."""

from __future__ import annotations

import asyncio
import os
import time
from collections import Counter
from typing import Any

from sqlalchemy import func, select
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import eventually

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
    fake = FakeTelegramAPI()
    await fake.start()
    fake.latency_s = LATENCY_S
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
        # Polled gently: the fake shares this event loop, and a busy loop delays its clock.
        await eventually(lambda: len(fake.calls) >= total * SIGNAL_AFTER, 3600, 0.25)
        async with database.transaction() as session:
            await outbox.enqueue(session, 42, SIGNAL_TEXT, priority=Priority.signal, kind="signal")
        signal_queued_at = time.monotonic()
        queued_behind = total - len(fake.delivered_texts())

        async def all_done() -> bool:
            return await unfinished(database) == 0

        await eventually(all_done, 3600, 1.0)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bot.session.close()
        await fake.stop()
        await database.dispose()

    sends = sorted(call.at for call in fake.sends())
    elapsed = sends[-1] - sends[0]
    achieved = (len(sends) - 1) / elapsed
    signal_call = next(call for call in fake.sends() if call.params.get("text") == SIGNAL_TEXT)
    deliveries = Counter(fake.delivered_texts())
    violations = fake.violations(RATE_PER_S, CHAT_INTERVAL_S)
    return {
        "database": database.dialect,
        "messages": total,
        "chats": chats,
        "limit_per_s": RATE_PER_S,
        "chat_interval_s": CHAT_INTERVAL_S,
        "fake_latency_ms": LATENCY_S * 1000,
        "elapsed_s": round(elapsed, 1),
        "achieved_per_s": round(achieved, 2),
        "share_of_limit": round(achieved / RATE_PER_S, 3),
        "over_rate_limit": violations.over_rate,
        "over_chat_limit": violations.over_chat,
        "breaches": violations.details[:5],
        "duplicates": sum(count - 1 for count in deliveries.values() if count > 1),
        "delivered": sum(deliveries.values()),
        "signal_queued_behind": queued_behind,
        "signal_delay_ms": round((signal_call.at - signal_queued_at) * 1000, 1),
    }
