"""Browser tests: a real `signalhub serve` (migrated, seeded, serving the built Mini App) and
Debian's Chromium driven by Playwright."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.conftest import TEST_BOT_TOKEN, TEST_JWT_SECRET, TEST_WEBHOOK_SECRET
from tests.e2e.server import running_server, signalhub
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegramAPI

REPO = Path(__file__).parents[2]
MINIAPP_DIST = REPO / "miniapp" / "dist"
CHROMIUM = os.environ.get("SIGNALHUB_TEST_CHROMIUM", "/usr/bin/chromium")
ACCESS_TOKEN_TTL_S = 4
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]


@pytest.fixture(scope="session")
def server_env(
    tmp_path_factory: pytest.TempPathFactory, telegram_server: FakeTelegramAPI
) -> dict[str, str]:
    assert (MINIAPP_DIST / "index.html").is_file(), "build the Mini App first: make miniapp"
    workdir = tmp_path_factory.mktemp("live")
    return {
        **os.environ,
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'live.db'}",
        "SIGNALHUB_JWT_SECRET": TEST_JWT_SECRET,
        "SIGNALHUB_TELEGRAM_BOT_TOKEN": TEST_BOT_TOKEN,
        "SIGNALHUB_TELEGRAM_BOT_USERNAME": BOT_USERNAME,
        "SIGNALHUB_TELEGRAM_API_BASE": telegram_server.base_url,
        "SIGNALHUB_TELEGRAM_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
        "SIGNALHUB_ACCESS_TOKEN_TTL_S": str(ACCESS_TOKEN_TTL_S),
        "SIGNALHUB_MINIAPP_DIST": str(MINIAPP_DIST),
        "SIGNALHUB_WORKDIR": str(workdir),
    }


@pytest.fixture(scope="session")
def live_server(server_env: dict[str, str]) -> Iterator[str]:
    workdir = Path(server_env["SIGNALHUB_WORKDIR"])
    for command in ("migrate", "seed"):
        result = signalhub(command, env=server_env, cwd=workdir)
        assert result.returncode == 0, result.stderr
    with running_server(server_env, workdir) as base_url:
        yield base_url


@pytest.fixture(scope="session")
async def browser() -> AsyncIterator[Browser]:
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield browser
        await browser.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 360, "height": 740})
    page = await context.new_page()
    yield page
    await context.close()
