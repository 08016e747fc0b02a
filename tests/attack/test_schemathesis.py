"""Schemathesis over the whole OpenAPI document, against a real `signalhub serve` on PostgreSQL
(migrated and seeded like `make run`), as an anonymous caller, a trader and an admin: every
check of tests/attack/schemathesis.toml, a bounded number of examples per operation, and a
fixed seed so that a failure reproduces. Any 5xx, undocumented status or answer that does not
match its schema fails the run."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import create_async_engine

from signalhub.seed import DEMO_ADMIN_TELEGRAM_ID, DEMO_TRADER_TELEGRAM_ID
from tests.conftest import TEST_BOT_TOKEN, TEST_JWT_SECRET, TEST_WEBHOOK_SECRET
from tests.e2e.server import running_server, signalhub
from tests.factories import signed_init_data
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegramAPI

pytestmark = pytest.mark.postgres

CONFIG = Path(__file__).with_name("schemathesis.toml")
SCHEMATHESIS = Path(sys.executable).with_name("st")
EXAMPLES_PER_OPERATION = 8
RUN_TIMEOUT_S = 600


@pytest.fixture(scope="module")
async def served_database() -> AsyncIterator[str]:
    """A database of its own: the server commits, and the test database is rolled back."""
    url = make_url(os.environ["SIGNALHUB_TEST_DATABASE_URL"])
    name = f"{url.database}_schemathesis"
    engine = create_async_engine(url, isolation_level="AUTOCOMMIT")
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    yield url.set(database=name).render_as_string(hide_password=False)
    async with engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    await engine.dispose()


@pytest.fixture(scope="module")
def served_api(
    tmp_path_factory: pytest.TempPathFactory,
    telegram_server: FakeTelegramAPI,
    served_database: str,
) -> Iterator[str]:
    workdir = tmp_path_factory.mktemp("schemathesis")
    env = {
        **os.environ,
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_DATABASE_URL": served_database,
        "SIGNALHUB_JWT_SECRET": TEST_JWT_SECRET,
        "SIGNALHUB_TELEGRAM_BOT_TOKEN": TEST_BOT_TOKEN,
        "SIGNALHUB_TELEGRAM_BOT_USERNAME": BOT_USERNAME,
        "SIGNALHUB_TELEGRAM_API_BASE": telegram_server.base_url,
        "SIGNALHUB_TELEGRAM_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
        "SIGNALHUB_STRIPE_WEBHOOK_SECRET": '["whsec_schemathesis_0123456789"]',
        "SIGNALHUB_SIGNIN_RATE_LIMIT_PER_MINUTE": "1000000",
        "SIGNALHUB_RUN_WORKER_IN_PROCESS": "false",
    }
    env.pop("SIGNALHUB_REDIS_URL", None)
    for command in ("migrate", "seed"):
        result = signalhub(command, env=env, cwd=workdir)
        assert result.returncode == 0, result.stderr
    with running_server(env, workdir) as base_url:
        yield base_url


async def _authorization(base_url: str, telegram_id: int | None) -> str:
    if telegram_id is None:
        return "X-Caller: anonymous"
    async with httpx.AsyncClient(base_url=base_url) as client:
        response = await client.post(
            "/api/v1/auth/telegram", json={"init_data": signed_init_data(telegram_id)}
        )
    assert response.status_code == 200, response.text
    return f"Authorization: Bearer {response.json()['access_token']}"


@pytest.mark.parametrize(
    "telegram_id",
    [None, DEMO_TRADER_TELEGRAM_ID, DEMO_ADMIN_TELEGRAM_ID],
    ids=["anonymous", "trader", "admin"],
)
async def test_schemathesis_finds_no_server_error_or_schema_violation(
    served_api: str, telegram_id: int | None
) -> None:
    header = await _authorization(served_api, telegram_id)
    # Run as a process while this event loop keeps serving the fake Bot API.
    process = await asyncio.create_subprocess_exec(
        str(SCHEMATHESIS),
        "--config-file",
        str(CONFIG),
        "run",
        f"{served_api}/openapi.json",
        "--max-examples",
        str(EXAMPLES_PER_OPERATION),
        "--seed",
        "1",
        # Nothing kept between runs: each run stands on its seed alone.
        "--generation-database",
        "none",
        "--header",
        header,
        # A stream that never ends by itself: the approvals tests cover it.
        "--exclude-path",
        "/api/v1/approvals/stream",
        "--request-timeout",
        "20",
        "--no-color",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    output, _ = await asyncio.wait_for(process.communicate(), RUN_TIMEOUT_S)
    report = output.decode(errors="replace")
    assert process.returncode == 0, report[-20_000:]
