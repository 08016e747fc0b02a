"""Signing in through the real endpoint for a Bearer token; draining the outbox."""

from __future__ import annotations

import asyncio
import inspect
import json
import logging
import shutil
import socket
import subprocess
import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager

import httpx
import pytest
from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

from signalhub.bot.dispatcher import create_bot
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.devices.signing import signed_headers
from signalhub.kit import redis_outage
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


def snapshot_payload(
    login: int, server: str, *, positions: list[dict[str, object]] | None = None
) -> dict[str, object]:
    """What the EA pushes to POST /api/v1/ea/snapshot: MetaTrader's own field names."""
    return {
        "account": {
            "login": login,
            "server": server,
            "company": "Raw Trading Ltd",
            "currency": "USD",
            "leverage": 500,
            "trade_mode": "real",
            "balance": 10000.0,
            "equity": 9878.5,
            "margin": 108.51,
            "margin_free": 9769.99,
            "margin_level": 9103.77,
            "profit": -121.5,
        },
        "positions": positions
        if positions is not None
        else [
            {
                "ticket": 987654321,
                "symbol": "EURUSD",
                "type": "buy",
                "volume": 0.1,
                "price_open": 1.08512,
                "price_current": 1.08391,
                "sl": 1.08,
                "tp": 1.095,
                "profit": -121.0,
                "swap": -0.5,
                "time": 1764494100,
                "magic": 20240001,
                "comment": "signalhub",
            }
        ],
    }


async def push_snapshot(
    client: httpx.AsyncClient, device_id: int, secret: str, payload: object
) -> httpx.Response:
    """A signed POST /api/v1/ea/snapshot, as a device sends it."""
    body = json.dumps(payload).encode()
    headers = signed_headers(device_id, secret, "POST", "/api/v1/ea/snapshot", body)
    headers["Content-Type"] = "application/json"
    return await client.post("/api/v1/ea/snapshot", content=body, headers=headers)


@contextmanager
def redis_server(port: int) -> Iterator[str]:
    """A real, throw-away `redis-server` on `port` (nothing saved), stopped on exit: the way to
    take Redis away from code under test and give it back on the same address."""
    process = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as probe:
                    probe.sendall(b"PING\r\n")
                    if probe.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        process.terminate()
        process.wait(timeout=30)


needs_redis_server = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs the redis-server binary"
)


@contextmanager
def statements_on(engine: AsyncEngine) -> Iterator[list[str]]:
    """The SQL statements sent through `engine` inside the block, in order."""
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(engine.sync_engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(engine.sync_engine, "before_cursor_execute", record)


REDIS_OUTAGE_LOGGER = redis_outage.__name__


def redis_outage_warnings(caplog: pytest.LogCaptureFixture, about: str) -> list[logging.LogRecord]:
    """The warnings logged when Redis stopped answering the part named by `about`."""
    return [
        record
        for record in caplog.records
        if record.name == REDIS_OUTAGE_LOGGER
        and record.levelno == logging.WARNING
        and about in record.getMessage()
    ]
