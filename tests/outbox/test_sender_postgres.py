"""At most once under a real crash, and one row never sent twice by two senders (PostgreSQL)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
from aiogram import Bot
from sqlalchemy import select, text

from signalhub.bot.dispatcher import create_bot
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.models import OutboxMessage, OutboxStatus, Priority
from signalhub.outbox import service as outbox
from signalhub.outbox.sender import SENDER_LOCK_KEY, OutboxSender
from tests.conftest import TEST_BOT_TOKEN
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import eventually

pytestmark = pytest.mark.postgres

WORKER_START_S = 240


async def enqueue_many(database: Database, count: int, first_chat: int, label: str) -> None:
    async with database.transaction() as session:
        for index in range(count):
            await outbox.enqueue(
                session,
                first_chat + index,
                f"{label} {index}",
                priority=Priority.marketing,
                kind="test",
            )


async def all_rows(database: Database) -> list[OutboxMessage]:
    async with database.transaction() as session:
        return list((await session.scalars(select(OutboxMessage))).all())


async def nothing_left(database: Database) -> bool:
    return all(
        row.status not in (OutboxStatus.pending, OutboxStatus.sending)
        for row in await all_rows(database)
    )


@pytest.fixture
def quick_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"telegram_rate_per_second": 200.0, "telegram_chat_interval_s": 0.0}
    )


@pytest.fixture
async def bots(quick_settings: Settings) -> AsyncIterator[list[Bot]]:
    bots = [create_bot(quick_settings), create_bot(quick_settings)]
    yield bots
    for bot in bots:
        await bot.session.close()


@pytest.fixture
async def start_worker(
    database_url: str, telegram_api: FakeTelegramAPI, tmp_path: Path
) -> AsyncIterator[Callable[[], Awaitable[asyncio.subprocess.Process]]]:
    """Starts `signalhub worker` processes and kills whatever is still running at teardown, so a
    failing assertion leaves no worker sending behind the next test."""
    environment = {
        "PATH": os.environ.get("PATH", ""),
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_DATABASE_URL": database_url,
        "SIGNALHUB_TELEGRAM_BOT_TOKEN": TEST_BOT_TOKEN,
        "SIGNALHUB_TELEGRAM_API_BASE": telegram_api.base_url,
        "SIGNALHUB_TELEGRAM_RATE_PER_SECOND": "300",
        "SIGNALHUB_TELEGRAM_CHAT_INTERVAL_S": "0",
        "SIGNALHUB_LOG_LEVEL": "WARNING",
    }
    started: list[asyncio.subprocess.Process] = []

    async def start() -> asyncio.subprocess.Process:
        process = await asyncio.create_subprocess_exec(
            str(Path(sys.executable).parent / "signalhub"), "worker", env=environment, cwd=tmp_path
        )
        started.append(process)
        return process

    yield start
    for process in started:
        if process.returncode is None:
            process.kill()
            await process.wait()


async def test_kill_9_mid_broadcast_sends_every_message_at_most_once(
    committing_database: Database,
    telegram_api: FakeTelegramAPI,
    start_worker: Callable[[], Awaitable[asyncio.subprocess.Process]],
) -> None:
    # Each call takes a while, so the kill lands with requests in flight.
    telegram_api.latency_s = 0.02
    await enqueue_many(committing_database, 1000, 20_000, "crash-test")

    worker = await start_worker()
    # A worker starts by importing aiogram: a minute of wall time on a busy 2-core machine.
    await eventually(lambda: len(telegram_api.delivered_texts()) >= 300, WORKER_START_S)
    os.kill(worker.pid, signal.SIGKILL)
    assert await worker.wait() == -signal.SIGKILL
    delivered_before_restart = len(telegram_api.delivered_texts())
    assert delivered_before_restart < 1000
    assert any(row.status == OutboxStatus.sending for row in await all_rows(committing_database))

    restarted = await start_worker()
    await eventually(lambda: nothing_left(committing_database), WORKER_START_S)
    restarted.terminate()
    await restarted.wait()

    rows = await all_rows(committing_database)
    deliveries = Counter(telegram_api.delivered_texts())
    assert max(deliveries.values()) == 1, "a message was delivered twice"
    statuses = Counter(row.status for row in rows)
    assert set(statuses) <= {OutboxStatus.sent, OutboxStatus.interrupted}
    assert statuses[OutboxStatus.interrupted] > 0
    assert statuses[OutboxStatus.sent] + statuses[OutboxStatus.interrupted] == 1000
    for row in rows:
        expected = {1} if row.status == OutboxStatus.sent else {0, 1}
        assert deliveries[row.text] in expected, (row.id, row.status)


async def test_two_senders_claiming_at_once_never_share_a_row(
    committing_database: Database,
    quick_settings: Settings,
    bots: list[Bot],
    telegram_api: FakeTelegramAPI,
) -> None:
    await enqueue_many(committing_database, 400, 30_000, "race")
    senders = [OutboxSender(quick_settings, committing_database, bot) for bot in bots]

    async def drain(sender: OutboxSender) -> int:
        claimed = 0
        while batch := await sender.dispatch_batch():
            claimed += batch
        await asyncio.gather(*sender.tasks)
        return claimed

    # No election here: SKIP LOCKED alone keeps concurrent claims apart.
    claimed = await asyncio.gather(*(drain(sender) for sender in senders))
    assert sum(claimed) == 400
    assert all(count > 0 for count in claimed)
    deliveries = Counter(telegram_api.delivered_texts())
    assert len(deliveries) == 400
    assert max(deliveries.values()) == 1


async def test_only_the_elected_sender_sends(
    committing_database: Database,
    quick_settings: Settings,
    bots: list[Bot],
    telegram_api: FakeTelegramAPI,
) -> None:
    await enqueue_many(committing_database, 50, 40_000, "elected")
    async with committing_database.engine.connect() as holder:
        await holder.execute(text("SELECT pg_advisory_lock(:key)"), {"key": SENDER_LOCK_KEY})
        sender = OutboxSender(quick_settings, committing_database, bots[0], standby_s=0.05)
        task = asyncio.create_task(sender.run())
        try:
            await asyncio.sleep(0.5)
            assert telegram_api.delivered_texts() == []
            await holder.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": SENDER_LOCK_KEY})
            await holder.commit()
            await eventually(lambda: nothing_left(committing_database))
        finally:
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
    assert len(telegram_api.delivered_texts()) == 50
