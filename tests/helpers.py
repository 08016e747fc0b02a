"""Signing in through the real endpoint for a Bearer token; draining the outbox."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable

import httpx

from signalhub.bot.dispatcher import create_bot
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.outbox.sender import OutboxSender
from tests.factories import signed_init_data


async def bearer_for(client: httpx.AsyncClient, telegram_id: int) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/telegram", json={"init_data": signed_init_data(telegram_id)}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


async def drain_outbox(settings: Settings, database: Database) -> None:
    """One sender pass over what is due, finishing its sends, against the fake Bot API."""
    bot = create_bot(settings)
    try:
        sender = OutboxSender(settings, database, bot)
        while await sender.dispatch_batch():
            await asyncio.gather(*sender.tasks)
    finally:
        await bot.session.close()


async def eventually(
    check: Callable[[], Awaitable[bool] | bool], timeout_s: float = 30, step_s: float = 0.02
) -> None:
    """Polls `check` until it holds; fails the test after `timeout_s`."""
    for _ in range(int(timeout_s / step_s)):
        outcome = check()
        if await outcome if inspect.isawaitable(outcome) else outcome:
            return
        await asyncio.sleep(step_s)
    raise AssertionError(f"condition not met within {timeout_s} s")
