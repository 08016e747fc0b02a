"""The approvals stream across two real `signalhub serve` processes sharing PostgreSQL and
Redis: a signal published and fanned out by instance A, and a decision made there, reach a
client connected to instance B; a ban made there ends that client's stream."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import httpx
import pytest

from signalhub.db import Database
from tests.conftest import TEST_BOT_TOKEN, TEST_JWT_SECRET
from tests.e2e.server import running_server
from tests.factories import create_subscriber
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import bearer_for
from tests.signals.conftest import ADMIN_TELEGRAM_ID, signal_body

REDIS_URL = os.environ.get("SIGNALHUB_TEST_REDIS_URL")
TRADER = 9_100_001

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(not REDIS_URL, reason="needs Redis: SIGNALHUB_TEST_REDIS_URL"),
]


@pytest.fixture
def instances(
    database_url: str, telegram_server: FakeTelegramAPI, tmp_path: Path
) -> Iterator[tuple[str, str]]:
    """A runs the worker (fan-out), B only serves HTTP; they share the database and Redis."""
    common = {
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_DATABASE_URL": database_url,
        "SIGNALHUB_DATABASE_POOL_SIZE": "4",
        "SIGNALHUB_REDIS_URL": str(REDIS_URL),
        "SIGNALHUB_JWT_SECRET": TEST_JWT_SECRET,
        "SIGNALHUB_TELEGRAM_BOT_TOKEN": TEST_BOT_TOKEN,
        "SIGNALHUB_TELEGRAM_API_BASE": telegram_server.base_url,
        "SIGNALHUB_ADMIN_TELEGRAM_IDS": str(ADMIN_TELEGRAM_ID),
        "SIGNALHUB_APPROVALS_STREAM_HEARTBEAT_S": "0.5",
    }
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    with ExitStack() as stack:
        a = stack.enter_context(
            running_server({**common, "SIGNALHUB_RUN_WORKER_IN_PROCESS": "true"}, tmp_path / "a")
        )
        b = stack.enter_context(
            running_server({**common, "SIGNALHUB_RUN_WORKER_IN_PROCESS": "false"}, tmp_path / "b")
        )
        yield a, b


async def events(response: httpx.Response) -> AsyncIterator[tuple[str, Any]]:
    """(event, data) of each server-sent event; ("heartbeat", None) for a heartbeat comment."""
    event, data = "message", ""
    async for line in response.aiter_lines():
        if line.startswith(": heartbeat"):
            yield "heartbeat", None
        elif line.startswith("event: "):
            event = line.removeprefix("event: ")
        elif line.startswith("data: "):
            data = line.removeprefix("data: ")
        elif line == "" and data:
            yield event, json.loads(data)
            event, data = "message", ""


async def next_event(stream: AsyncIterator[tuple[str, Any]]) -> tuple[str, Any]:
    async for event, data in stream:
        if event != "heartbeat":
            return event, data
    raise AssertionError("the stream ended")


async def test_changes_made_on_one_instance_reach_a_stream_on_the_other(
    committing_database: Database, instances: tuple[str, str]
) -> None:
    async with committing_database.transaction() as session:
        await create_subscriber(session, telegram_id=TRADER)
    a, b = instances
    async with (
        httpx.AsyncClient(base_url=a, timeout=30) as on_a,
        httpx.AsyncClient(base_url=b, timeout=30) as on_b,
    ):
        trader = await bearer_for(on_b, TRADER)
        admin = await bearer_for(on_a, ADMIN_TELEGRAM_ID)
        assert (await on_b.get("/api/v1/approvals/stream")).status_code == 401

        async with on_b.stream("GET", "/api/v1/approvals/stream", headers=trader) as response:
            assert response.status_code == 200
            assert response.headers["content-type"].startswith("text/event-stream")
            stream = events(response)
            assert await next_event(stream) == ("ready", {})
            assert (await anext(stream))[0] == "heartbeat"

            published = await on_a.post("/api/v1/admin/signals", json=signal_body(), headers=admin)
            assert published.status_code == 201
            event, data = await next_event(stream)
            assert (event, data["signal_id"]) == ("approval.created", published.json()["id"])

            decided = await on_a.post(
                f"/api/v1/approvals/{data['approval_id']}/approve", headers=trader
            )
            assert decided.status_code == 200
            assert await next_event(stream) == (
                "approval.decided",
                {
                    "type": "approval.decided",
                    "approval_id": data["approval_id"],
                    "status": "approved",
                },
            )

            cancelled = await on_a.post(
                f"/api/v1/admin/signals/{published.json()['id']}/cancel", headers=admin
            )
            assert cancelled.status_code == 200
            assert await next_event(stream) == (
                "signal.ended",
                {"type": "signal.ended", "signal_id": published.json()["id"]},
            )

            # A ban on instance A ends the stream held by instance B; reconnecting is refused.
            trader_id = (await on_b.get("/api/v1/me", headers=trader)).json()["user"]["id"]
            banned = await on_a.post(f"/api/v1/admin/users/{trader_id}/ban", headers=admin)
            assert banned.status_code == 200
            assert await next_event(stream) == ("account.banned", {"type": "account.banned"})
            assert [event async for event in stream if event[0] != "heartbeat"] == []
        again = await on_b.get("/api/v1/approvals/stream", headers=trader)
        assert again.status_code == 403
        assert again.json()["error"]["code"] == "account_banned"
