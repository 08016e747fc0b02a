"""The body middleware against an ASGI server's own messages: a body that stops arriving, and a
client that hangs up mid-body. (`test_serve_process.py` does the same over real sockets.)"""

from __future__ import annotations

import asyncio
import json
import logging

import pytest
from asgi_lifespan import LifespanManager
from prometheus_client import REGISTRY
from starlette.types import Message

from signalhub.app import create_app
from signalhub.config import Settings
from signalhub.db import Database

PATH = "/api/v1/auth/telegram"


def scope() -> dict[str, object]:
    return {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": PATH,
        "raw_path": PATH.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"content-type", b"application/json"),
            (b"content-length", b"100"),
        ],
        "client": ("127.0.0.1", 40000),
        "server": ("testserver", 80),
    }


async def serve_one(settings: Settings, database: Database, then: Message | None) -> list[Message]:
    """One request whose body starts, then either `then` arrives or nothing ever does."""
    app = create_app(settings.model_copy(update={"body_read_timeout_s": 0.2}), database)
    incoming: list[Message] = [{"type": "http.request", "body": b'{"init_da', "more_body": True}]
    if then is not None:
        incoming.append(then)
    sent: list[Message] = []

    async def receive() -> Message:
        if incoming:
            return incoming.pop(0)
        await asyncio.Event().wait()  # the client sends nothing more
        raise AssertionError("unreachable")

    async def send(message: Message) -> None:
        sent.append(message)

    async with LifespanManager(app):
        await asyncio.wait_for(app(scope(), receive, send), timeout=10)
    return sent


def access_lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if record.name == "signalhub.http"]


def counted(status: str) -> float:
    labels = {"method": "POST", "route": "unmatched", "status": status}
    return REGISTRY.get_sample_value("signalhub_http_requests_total", labels) or 0.0


async def test_a_body_that_stops_arriving_is_answered_408_and_the_connection_closed(
    settings: Settings, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="signalhub.http")
    sent = await serve_one(settings, database, then=None)
    start, body = sent
    assert start["status"] == 408
    assert (b"connection", b"close") in start["headers"]
    error = json.loads(body["body"])["error"]
    assert error["code"] == "request_timeout"
    assert "0.2 s" in error["message"]
    assert [line.__dict__["status"] for line in access_lines(caplog)] == [408]


async def test_a_client_that_hangs_up_mid_body_is_logged_and_counted_as_499(
    settings: Settings, database: Database, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO)
    before = counted("499")
    sent = await serve_one(settings, database, then={"type": "http.disconnect"})
    assert sent == []
    assert [line.__dict__["status"] for line in access_lines(caplog)] == [499]
    assert counted("499") == before + 1
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
