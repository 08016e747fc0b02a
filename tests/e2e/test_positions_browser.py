"""The Positions tab against a real server, fed by a real `signalhub device run` process: link an
account in the Mini App, the device's first snapshot verifies it, the tab shows and refreshes the
positions, and shows the stale banner once the device stops reporting."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from signalhub.seed import DEMO_TRADER_TELEGRAM_ID
from tests.e2e.server import running_server, signalhub
from tests.e2e.test_miniapp_browser import signed_launch
from tests.factories import signed_init_data

pytestmark = pytest.mark.browser

LOGIN, SERVER = 5123456, "Simulated-Demo"
STALE_AFTER_S = 6


@pytest.fixture(scope="module")
def positions_server(
    server_env: dict[str, str], tmp_path_factory: pytest.TempPathFactory
) -> Iterator[str]:
    """A server of its own: snapshots go stale after a few seconds, not two minutes."""
    workdir = tmp_path_factory.mktemp("positions")
    env = {
        **server_env,
        "SIGNALHUB_DATABASE_URL": f"sqlite+aiosqlite:///{workdir / 'positions.db'}",
        "SIGNALHUB_POSITIONS_STALE_AFTER_S": str(STALE_AFTER_S),
        "SIGNALHUB_ACCESS_TOKEN_TTL_S": "900",
    }
    for command in ("migrate", "seed"):
        result = signalhub(command, env=env, cwd=workdir)
        assert result.returncode == 0, result.stderr
    with running_server(env, workdir) as base_url:
        yield base_url


def register_device(base_url: str) -> tuple[int, str]:
    """The demo trader's device (Premium allows one), registered over the API."""
    with httpx.Client(base_url=base_url) as client:
        signed_in = client.post(
            "/api/v1/auth/telegram",
            json={"init_data": signed_init_data(DEMO_TRADER_TELEGRAM_ID)},
        )
        headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
        device = client.post("/api/v1/devices", json={"name": "Office MT5"}, headers=headers)
        assert device.status_code == 201, device.text
        return device.json()["id"], device.json()["secret"]


def start_device(base_url: str, device_id: int, secret: str, log: Path) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "signalhub.cli",
            "device",
            "run",
            "--url",
            base_url,
            "--id",
            str(device_id),
            "--secret",
            secret,
            "--account-login",
            str(LOGIN),
            "--account-server",
            SERVER,
            "--snapshot-every",
            "2",
        ],
        stdout=log.open("w"),
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "SIGNALHUB_LOG_LEVEL": "WARNING"},
    )


async def test_positions_from_a_device_then_stale_when_it_stops(
    page: Page, positions_server: str, tmp_path: Path
) -> None:
    device_id, secret = register_device(positions_server)
    await page.goto(signed_launch(positions_server))

    await page.get_by_test_id("tab-positions").click()
    await expect(page.get_by_test_id("no-account")).to_contain_text("Link your MT5 account")
    await page.get_by_role("button", name="Link an account").click()
    await page.get_by_test_id("link-login").fill(str(LOGIN))
    await page.get_by_test_id("link-server").fill(SERVER)
    await page.get_by_test_id("link-submit").click()
    row = page.get_by_test_id("account-row")
    await expect(row).to_contain_text("Waiting for the EA · code ")
    pairing_code = (await row.inner_text()).split("code ")[1][:9]

    log = tmp_path / "device.log"
    device = start_device(positions_server, device_id, secret, log)
    try:
        # The accounts page refreshes every 10 s while it waits for the EA.
        await expect(row).to_contain_text("Verified · Demo", timeout=20_000)
        await expect(row.get_by_test_id("primary-badge")).to_be_visible()
        assert f"pairing code {pairing_code}" in log.read_text()

        await page.go_back()
        cards = page.get_by_test_id("position-card")
        await expect(cards.first).to_be_visible(timeout=15_000)
        await expect(page.get_by_test_id("equity")).to_contain_text("$")
        await expect(page.get_by_test_id("trade-mode")).to_contain_text("Demo")
        first_prices = await cards.all_inner_texts()
        # The device pushes every 2 s and the tab refreshes every 10 s: the prices move.
        await expect(cards.first).not_to_have_text(first_prices[0], timeout=25_000)
        await expect(page.get_by_test_id("stale-banner")).to_have_count(0)

        await cards.first.click()
        await expect(page.get_by_test_id("position-details")).to_contain_text("Ticket")
    finally:
        device.terminate()
        device.wait(timeout=15)

    banner = page.get_by_test_id("stale-banner")
    await expect(banner).to_be_visible(timeout=STALE_AFTER_S * 1000 + 25_000)
    await expect(banner).to_contain_text("last update")
    await expect(page.get_by_test_id("equity")).to_be_visible()
