"""The outbox sender against the fake Bot API: limits, priorities, 429, 403, retries."""

from __future__ import annotations

import asyncio
import gc
import math
import random
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable
from datetime import timedelta

import pytest
from aiogram import Bot
from aiogram.methods import EditMessageText, Response, SendMessage, SendPhoto
from sqlalchemy import func, select, update

from signalhub.bot.dispatcher import create_bot
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import OutboxMessage, OutboxStatus, Priority
from signalhub.outbox import service as outbox
from signalhub.outbox.sender import BATCH_SECONDS, WINDOW_S, OutboxSender, RateLimiter
from signalhub.users import service as users
from signalhub.worker.runner import Worker
from tests.factories import create_user
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import eventually


@pytest.fixture
def fast_settings(settings: Settings) -> Settings:
    return settings.model_copy(
        update={"telegram_rate_per_second": 50.0, "telegram_chat_interval_s": 0.2}
    )


@pytest.fixture
async def bot(fast_settings: Settings) -> AsyncIterator[Bot]:
    bot = create_bot(fast_settings)
    yield bot
    await bot.session.close()


async def enqueue(
    database: Database,
    chat_id: int,
    text: str,
    priority: Priority = Priority.marketing,
    buttons: list[list[dict[str, str]]] | None = None,
) -> int:
    async with database.transaction() as session:
        message = await outbox.enqueue(
            session, chat_id, text, buttons, priority=priority, kind="test"
        )
        return message.id


async def rows(database: Database) -> dict[int, OutboxMessage]:
    async with database.transaction() as session:
        return {row.id: row for row in (await session.scalars(select(OutboxMessage))).all()}


async def unfinished(database: Database) -> int:
    async with database.transaction() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .where(OutboxMessage.status.in_([OutboxStatus.pending, OutboxStatus.sending]))
        )
    return int(count or 0)


async def run_until(
    sender: OutboxSender, done: Callable[[], Awaitable[bool]], timeout_s: float = 30
) -> None:
    task = asyncio.create_task(sender.run())
    try:
        await eventually(done, timeout_s)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_the_limits_are_never_exceeded(
    committing_database: Database,
    fast_settings: Settings,
    bot: Bot,
    telegram_api: FakeTelegramAPI,
) -> None:
    for index in range(150):
        await enqueue(committing_database, 7000 + index % 30, f"broadcast {index}")
    sender = OutboxSender(fast_settings, committing_database, bot)
    await run_until(sender, lambda: _all_done(committing_database))

    assert len(telegram_api.delivered_texts()) == 150
    violations = telegram_api.violations(50, 0.2)
    assert violations.total == 0, violations.details[:5]
    # Without the limiter the same sends would breach both limits at once.
    assert telegram_api.violations(1000, 1.0).over_chat > 0


async def test_the_rate_holds_where_telegram_counts_whatever_the_delays_on_the_way(
    committing_database: Database,
    fast_settings: Settings,
    bot: Bot,
    telegram_api: FakeTelegramAPI,
) -> None:
    """Requests spend 0 to 300 ms on the wire before Telegram counts them: sends started evenly
    arrive in clumps, yet no second at Telegram holds more than the limit."""
    transit = random.Random(7)
    telegram_api.transit_s = lambda: transit.uniform(0, 0.3)
    for index in range(150):
        await enqueue(committing_database, 7000 + index, f"broadcast {index}")
    sender = OutboxSender(fast_settings, committing_database, bot)
    await run_until(sender, lambda: _all_done(committing_database))

    assert len(telegram_api.delivered_texts()) == 150
    violations = telegram_api.violations(fast_settings.telegram_rate_per_second, 0.2)
    assert violations.total == 0, violations.details[:5]


async def _all_done(database: Database) -> bool:
    return await unfinished(database) == 0


async def test_a_signal_overtakes_a_queued_broadcast(
    committing_database: Database,
    fast_settings: Settings,
    bot: Bot,
    telegram_api: FakeTelegramAPI,
) -> None:
    for index in range(200):
        await enqueue(committing_database, 8000 + index, f"marketing {index}")
    await enqueue(committing_database, 9999, "SIGNAL: EURUSD buy", Priority.signal)
    sender = OutboxSender(fast_settings, committing_database, bot)

    async def signal_sent() -> bool:
        return "SIGNAL: EURUSD buy" in telegram_api.delivered_texts()

    await run_until(sender, signal_sent)
    assert telegram_api.delivered_texts()[0] == "SIGNAL: EURUSD buy"

    # And one queued while the broadcast is going out waits at most a batch.
    telegram_api.reset()
    task = asyncio.create_task(sender.run())
    try:
        await eventually(lambda: len(telegram_api.delivered_texts()) >= 20)
        await enqueue(committing_database, 9998, "SIGNAL: XAUUSD sell", Priority.signal)
        queued_at = len(telegram_api.delivered_texts())
        await eventually(lambda: "SIGNAL: XAUUSD sell" in telegram_api.delivered_texts(), 5)
        overtaken = telegram_api.delivered_texts().index("SIGNAL: XAUUSD sell") - queued_at
        assert overtaken <= 2 * sender.batch_size
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)


async def test_a_429_pauses_all_sending(
    committing_database: Database,
    fast_settings: Settings,
    bot: Bot,
    telegram_api: FakeTelegramAPI,
) -> None:
    telegram_api.flood_next(7100, retry_after=1)
    await enqueue(committing_database, 7100, "first")
    for index in range(20):
        await enqueue(committing_database, 7200 + index, f"other {index}")
    sender = OutboxSender(fast_settings, committing_database, bot)
    await run_until(sender, lambda: _all_done(committing_database))

    flooded = next(call for call in telegram_api.of("sendMessage") if call.status == 429)
    during_pause = [
        call for call in telegram_api.sends() if flooded.at + 0.05 < call.at < flooded.at + 0.95
    ]
    assert during_pause == []
    assert telegram_api.delivered_texts().count("first") == 1
    assert len(telegram_api.delivered_texts()) == 21
    first = next(row for row in (await rows(committing_database)).values() if row.text == "first")
    assert first.attempts == 1


async def test_a_403_blocks_the_user_and_drops_their_queue(
    committing_database: Database,
    fast_settings: Settings,
    bot: Bot,
    telegram_api: FakeTelegramAPI,
) -> None:
    async with committing_database.transaction() as session:
        user = await create_user(session, telegram_id=7300)
    telegram_api.block(7300)
    for index in range(3):
        await enqueue(committing_database, 7300, f"to blocked {index}")
    await enqueue(committing_database, 7301, "to someone else")
    sender = OutboxSender(fast_settings, committing_database, bot)
    await run_until(sender, lambda: _all_done(committing_database))

    statuses = {row.text: row.status for row in (await rows(committing_database)).values()}
    assert statuses == {
        "to blocked 0": OutboxStatus.dropped,
        "to blocked 1": OutboxStatus.dropped,
        "to blocked 2": OutboxStatus.dropped,
        "to someone else": OutboxStatus.sent,
    }
    assert len([call for call in telegram_api.sends() if call.chat_id == 7300]) == 1
    async with committing_database.transaction() as session:
        assert (await users.get(session, user.id)).bot_blocked


async def test_server_errors_are_retried_with_backoff_then_fail(
    committing_database: Database,
    fast_settings: Settings,
    bot: Bot,
    telegram_api: FakeTelegramAPI,
) -> None:
    telegram_api.fail_next(7400, 500, "Internal Server Error", times=2)
    telegram_api.fail_next(7401, 502, "Bad Gateway", times=5)
    telegram_api.fail_next(7402, 400, "Bad Request: chat not found")
    transient = await enqueue(committing_database, 7400, "transient")
    permanent = await enqueue(committing_database, 7401, "permanent")
    bad = await enqueue(committing_database, 7402, "bad request")
    sender = OutboxSender(fast_settings, committing_database, bot, max_attempts=3, backoff_s=0.05)
    await run_until(sender, lambda: _all_done(committing_database))

    result = await rows(committing_database)
    assert result[transient].status == OutboxStatus.sent
    assert result[transient].attempts == 3
    assert result[transient].telegram_message_id is not None
    assert result[permanent].status == OutboxStatus.failed
    assert result[permanent].last_error is not None
    assert "Bad Gateway" in result[permanent].last_error
    assert "after 3 attempts" in result[permanent].last_error
    assert result[bad].status == OutboxStatus.failed
    assert result[bad].attempts == 1
    assert result[bad].last_error == "Bad Request: chat not found"
    sends_to = [call.chat_id for call in telegram_api.sends()]
    assert sends_to.count(7400) == 3
    assert sends_to.count(7401) == 3


async def test_rows_left_sending_are_interrupted_never_resent(
    committing_database: Database,
    fast_settings: Settings,
    bot: Bot,
    telegram_api: FakeTelegramAPI,
) -> None:
    crashed = await enqueue(committing_database, 7500, "was mid-send")
    fresh = await enqueue(
        committing_database, 7501, "fresh", buttons=[[{"text": "Open", "url": "https://t.me/x"}]]
    )
    async with committing_database.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == crashed)
            .values(status=OutboxStatus.sending, claimed_at=utcnow() - timedelta(minutes=1))
        )
    sender = OutboxSender(fast_settings, committing_database, bot)
    await run_until(sender, lambda: _all_done(committing_database))

    result = await rows(committing_database)
    assert result[crashed].status == OutboxStatus.interrupted
    assert result[fresh].status == OutboxStatus.sent
    assert telegram_api.delivered_texts() == ["fresh"]
    markup = telegram_api.of("sendMessage")[0].params["reply_markup"]
    assert markup == {"inline_keyboard": [[{"text": "Open", "url": "https://t.me/x"}]]}


async def test_a_network_error_is_never_resent(
    committing_database: Database, fast_settings: Settings
) -> None:
    # Nothing listens there: the request may or may not have left, so it is not retried.
    unreachable = fast_settings.model_copy(update={"telegram_api_base": "http://127.0.0.1:9"})
    bot = create_bot(unreachable)
    message_id = await enqueue(committing_database, 7600, "lost in transit")
    try:
        sender = OutboxSender(unreachable, committing_database, bot)
        await run_until(sender, lambda: _all_done(committing_database))
    finally:
        await bot.session.close()
    row = (await rows(committing_database))[message_id]
    assert row.status == OutboxStatus.interrupted
    assert row.last_error is not None
    assert row.last_error.startswith("network error")


async def test_a_clean_stop_puts_claimed_rows_back(
    committing_database: Database,
    fast_settings: Settings,
    bot: Bot,
    telegram_api: FakeTelegramAPI,
) -> None:
    slow = fast_settings.model_copy(update={"telegram_rate_per_second": 2.0})
    for index in range(4):
        await enqueue(committing_database, 7700 + index, f"slow {index}")
    sender = OutboxSender(slow, committing_database, bot)

    async def first_sent() -> bool:
        return len(telegram_api.delivered_texts()) >= 1

    await run_until(sender, first_sent)
    statuses = sorted(row.status for row in (await rows(committing_database)).values())
    assert OutboxStatus.sending not in statuses
    assert statuses.count(OutboxStatus.pending) == 4 - len(telegram_api.delivered_texts())


async def test_the_limiter_spaces_sends_and_pauses() -> None:
    limiter = RateLimiter(100)
    loop = asyncio.get_running_loop()
    started = loop.time()
    for _ in range(5):
        await limiter.acquire()
    assert loop.time() - started >= 4 * 0.01
    limiter.pause(0.1)
    await limiter.wait_unpaused()
    assert loop.time() - started >= 0.1


async def test_a_send_occupies_the_limit_until_a_second_after_its_answer() -> None:
    limiter = RateLimiter(5)
    for _ in range(5):
        await limiter.acquire()
    sixth = asyncio.ensure_future(limiter.acquire())
    await asyncio.sleep(0.2)
    assert not sixth.done()  # five in flight fill the limit
    limiter.finished()
    answered_at = limiter.now()
    await asyncio.sleep(0.2)
    assert not sixth.done()  # the answered one still occupies its second
    await sixth
    assert limiter.now() - answered_at >= WINDOW_S


async def test_the_worker_runs_the_sender_when_telegram_is_configured(
    committing_database: Database, fast_settings: Settings, telegram_api: FakeTelegramAPI
) -> None:
    await enqueue(committing_database, 7800, "from the worker", Priority.transactional)
    async with Worker(fast_settings, committing_database, jobs=(), loops=()).running():
        await eventually(lambda: _all_done(committing_database), 10)
    assert telegram_api.delivered_texts() == ["from the worker"]
    assert not Worker(
        fast_settings.model_copy(update={"telegram_bot_token": None}), committing_database
    ).send_outbox


def test_batches_hold_a_quarter_second_at_the_rate_actually_achieved(
    fast_settings: Settings, bot: Bot, database: Database
) -> None:
    sender = OutboxSender(fast_settings, database, bot)
    assert sender.batch_size == sender.max_batch_size == math.ceil(50 * BATCH_SECONDS)
    # A starved machine dispatched a full batch of 13 in 1.3 s: 10/s, not the configured 50/s.
    sender._measure(13, 13, 1.3)
    assert sender.measured_rate == pytest.approx(30.0)
    sender._measure(8, 8, 0.8)
    assert sender.batch_size == math.ceil(20 * BATCH_SECONDS)
    # A short batch says the queue ran dry, nothing about the sender.
    sender._measure(1, 5, 2.0)
    assert sender.batch_size == math.ceil(20 * BATCH_SECONDS)
    # Back to full speed, the batch grows back, never past the configured rate's.
    for _ in range(20):
        sender._measure(sender.batch_size, sender.batch_size, sender.batch_size / 500)
    assert sender.batch_size == sender.max_batch_size


def test_the_response_models_survive_garbage_collection() -> None:
    # pydantic caches a parametrized model weakly; the sender holds the ones it uses.
    for method in (SendMessage, SendPhoto, EditMessageText):
        model = weakref.ref(Response[method.__returning__])  # type: ignore[name-defined]
        gc.collect()
        assert model() is not None
