"""TELEGRAM_PAID_BROADCAST_RATE: signal-priority messages go out with allow_paid_broadcast at the
paid rate, everything else keeps to the free rate, and no 1-second window breaks either limit."""

from __future__ import annotations

import asyncio

from signalhub.bot.dispatcher import create_bot
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.models import Priority
from signalhub.outbox import service as outbox
from signalhub.outbox.sender import OutboxSender
from tests.fakes.telegram_api import Call, FakeTelegramAPI
from tests.helpers import eventually

FREE_RATE = 10.0
PAID_RATE = 60.0


def busiest_second(calls: list[Call]) -> int:
    times = sorted(call.at for call in calls)
    busiest, start = 0, 0
    for index, moment in enumerate(times):
        while moment - times[start] >= 1.0:
            start += 1
        busiest = max(busiest, index - start + 1)
    return busiest


async def send_all(database: Database, settings: Settings, telegram_api: FakeTelegramAPI) -> None:
    async with database.transaction() as session:
        for index in range(30):
            await outbox.enqueue(
                session, 60_000 + index, f"promo {index}", priority=Priority.marketing, kind="test"
            )
        for index in range(90):
            await outbox.enqueue(
                session, 70_000 + index, f"signal {index}", priority=Priority.signal, kind="test"
            )
    bot = create_bot(settings)
    task = asyncio.create_task(OutboxSender(settings, database, bot).run())
    try:
        await eventually(lambda: len(telegram_api.delivered_texts()) == 120, timeout_s=60)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await bot.session.close()


async def test_signals_use_the_paid_rate_and_marketing_never_does(
    committing_database: Database, settings: Settings, telegram_api: FakeTelegramAPI
) -> None:
    paid_settings = settings.model_copy(
        update={
            "telegram_rate_per_second": FREE_RATE,
            "telegram_paid_broadcast_rate": PAID_RATE,
            "telegram_chat_interval_s": 0.0,
        }
    )
    await send_all(committing_database, paid_settings, telegram_api)

    sends = telegram_api.of("sendMessage")
    signals = [call for call in sends if call.params["text"].startswith("signal")]
    promos = [call for call in sends if call.params["text"].startswith("promo")]
    assert {call.params.get("allow_paid_broadcast") for call in signals} == {"true"}
    assert {call.params.get("allow_paid_broadcast") for call in promos} == {None}
    assert busiest_second(sends) <= PAID_RATE
    assert busiest_second(promos) <= FREE_RATE
    # Ninety signals at the free rate alone would take nine seconds.
    assert busiest_second(signals) > FREE_RATE


async def test_without_the_setting_nothing_is_paid(
    committing_database: Database, settings: Settings, telegram_api: FakeTelegramAPI
) -> None:
    free_settings = settings.model_copy(
        update={"telegram_rate_per_second": 60.0, "telegram_chat_interval_s": 0.0}
    )
    await send_all(committing_database, free_settings, telegram_api)
    assert {call.params.get("allow_paid_broadcast") for call in telegram_api.sends()} == {None}
