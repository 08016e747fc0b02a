"""`signalhub serve --workers 2` as a real process on real sockets: every worker writes JSON lines
with its access log and request ids; a body that stalls is answered 408; a client that hangs up
mid-body is a 499, not a 500 with a traceback; nothing from a query string reaches the log."""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.e2e.server import running_server, signalhub

SIGN_IN = "/api/v1/auth/telegram"


class Served:
    def __init__(self, base_url: str, log: Path) -> None:
        self.base_url = base_url
        self.port = int(urlsplit(base_url).port or 0)
        self.log = log

    def entries(self) -> list[dict[str, Any]]:
        """Every line the server wrote; one that is not JSON fails the test here."""
        return [json.loads(line) for line in self.log.read_text().splitlines() if line.strip()]

    def access_lines(self) -> list[dict[str, Any]]:
        return [entry for entry in self.entries() if entry["logger"] == "signalhub.http"]

    def wait_for(
        self, found: Callable[[dict[str, Any]], bool], timeout_s: float = 30
    ) -> dict[str, Any]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            for entry in self.access_lines():
                if found(entry):
                    return entry
            time.sleep(0.1)
        raise AssertionError(f"no such access line within {timeout_s} s:\n{self.log.read_text()}")

    def half_a_body(self, request_id: str) -> socket.socket:
        """A sign-in whose headers announce 200 bytes of body, of which 16 are sent."""
        connection = socket.create_connection(("127.0.0.1", self.port), timeout=30)
        connection.sendall(
            f"POST {SIGN_IN} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            f"Content-Length: 200\r\nX-Request-ID: {request_id}\r\n\r\n".encode()
            + b'{"init_data": "a'
        )
        return connection


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    workdir = tmp_path_factory.mktemp("serve")
    env = {
        **os.environ,
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'serve.db'}",
        "SIGNALHUB_RUN_WORKER_IN_PROCESS": "false",
        "SIGNALHUB_METRICS_DIR": str(workdir / "metrics"),
        "SIGNALHUB_BODY_READ_TIMEOUT_S": "1",
    }
    env.pop("SIGNALHUB_TELEGRAM_BOT_TOKEN", None)
    env.pop("SIGNALHUB_REDIS_URL", None)
    assert signalhub("migrate", env=env, cwd=workdir).returncode == 0
    with running_server(env, workdir, "--workers", "2", startup_timeout_s=180) as base_url:
        yield Served(base_url, workdir / "server.log")


def test_both_workers_write_json_access_lines_with_request_ids(served: Served) -> None:
    pids: set[int] = set()
    sent: set[str] = set()
    deadline = time.monotonic() + 120
    # A new connection for each request, so the kernel hands them to either worker; bounded.
    while len(pids) < 2 and time.monotonic() < deadline:
        for _ in range(10):
            request_id = f"both-workers-{len(sent)}"
            answer = httpx.get(
                f"{served.base_url}/healthz", headers={"X-Request-ID": request_id}, timeout=10
            )
            assert answer.headers["x-request-id"] == request_id
            sent.add(request_id)
        time.sleep(0.2)
        pids = {
            entry["pid"]
            for entry in served.access_lines()
            if entry.get("request_id", "").startswith("both-workers-")
        }
    assert len(pids) == 2, served.log.read_text()
    lines = [entry for entry in served.access_lines() if entry["path"] == "/healthz"]
    assert {entry["request_id"] for entry in lines} >= sent
    assert all(entry["status"] == 200 and entry["method"] == "GET" for entry in lines)


def test_a_body_that_stalls_is_answered_408_after_the_read_timeout(served: Served) -> None:
    connection = served.half_a_body("stalled-body")
    started = time.monotonic()
    answer = b""
    try:
        while chunk := connection.recv(4096):  # until the server closes the connection
            answer += chunk
    finally:
        connection.close()
    waited = time.monotonic() - started
    head, _, body = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 408"), answer
    assert json.loads(body)["error"]["code"] == "request_timeout"
    assert 0.9 <= waited < 10
    line = served.wait_for(lambda entry: entry.get("request_id") == "stalled-body")
    assert line["status"] == 408


def test_a_client_that_hangs_up_mid_body_is_a_499_without_a_traceback(served: Served) -> None:
    served.half_a_body("hung-up").close()
    line = served.wait_for(lambda entry: entry.get("request_id") == "hung-up")
    assert line["status"] == 499
    assert not [entry for entry in served.entries() if "exception" in entry]
    assert not [entry for entry in served.entries() if entry["level"] in ("error", "critical")]
    metrics = httpx.get(f"{served.base_url}/metrics", timeout=10).text
    assert 'signalhub_http_requests_total{method="POST",route="unmatched",status="499"}' in metrics


def test_nothing_from_the_query_string_reaches_the_log(served: Served) -> None:
    secret = "query-secret-4f1c9e"
    for path in (f"/api/v1/app-config?token={secret}", f"/nowhere/{secret}?token={secret}"):
        httpx.get(f"{served.base_url}{path}", headers={"X-Request-ID": "query"}, timeout=10)
    served.wait_for(lambda entry: entry.get("request_id") == "query" and entry["status"] == 404)
    assert secret not in served.log.read_text()
    paths = {entry["path"] for entry in served.access_lines() if entry.get("request_id") == "query"}
    assert paths == {"/api/v1/app-config", "unmatched"}
