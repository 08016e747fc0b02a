"""A trader adds a device in the Mini App, starts `signalhub device run` with its secret, approves
a signal in the Mini App, and the bot sends the execution notice; the tab shows the device seen."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from signalhub.seed import DEMO_ADMIN_TELEGRAM_ID, DEMO_TRADER_TELEGRAM_ID
from tests.e2e.test_miniapp_browser import signed_launch
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import bearer_for, eventually

pytestmark = pytest.mark.browser


async def test_device_added_in_the_mini_app_executes_an_approved_signal(
    page: Page,
    live_server: str,
    telegram_api: FakeTelegramAPI,
    server_env: dict[str, str],
    tmp_path: Path,
) -> None:
    await page.goto(signed_launch(live_server))
    await page.get_by_test_id("tab-devices").click()
    await page.get_by_test_id("device-name").fill("Office MT5")
    await page.get_by_test_id("add-device").click()
    secret = (await page.get_by_test_id("new-device-secret").inner_text()).strip()
    settings = await page.get_by_test_id("new-device-settings").inner_text()
    found = re.search(r"Device id: (\d+)", settings)
    assert found is not None
    device_id = found.group(1)
    await expect(page.get_by_test_id("last-seen")).to_have_text("never")

    device_log_path = tmp_path / "device.log"
    device_log = device_log_path.open("w")
    device = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "signalhub.cli",
        "device",
        "run",
        "--url",
        live_server,
        "--id",
        device_id,
        "--secret",
        secret,
        "--fill-price-from",
        "simulated",
        env=server_env,
        stdout=device_log,
        stderr=asyncio.subprocess.STDOUT,
    )
    try:
        async with httpx.AsyncClient(base_url=live_server) as api:
            admin = await bearer_for(api, DEMO_ADMIN_TELEGRAM_ID)
            published = await api.post(
                "/api/v1/admin/signals",
                headers=admin,
                json={
                    "symbol": "USDCHF",
                    "side": "buy",
                    "entry_price": "0.88123",
                    "stop_loss": "0.8790",
                    "take_profits": ["0.8850"],
                },
            )
            assert published.status_code == 201, published.text

        await page.get_by_test_id("tab-approvals").click()
        card = page.get_by_test_id("signal-card").filter(has_text="USDCHF")
        await expect(card).to_be_visible(timeout=30_000)
        await card.get_by_role("button", name="Approve").click()

        def executed() -> bool:
            return "USDCHF buy executed at 0.88123, ticket" in device_log_path.read_text()

        await eventually(executed, timeout_s=30, step_s=0.2)
        notice = re.compile(r"^USDCHF buy executed at 0\.88123, ticket \d+ \(Office MT5\)$")

        def notified() -> bool:
            return any(
                notice.match(str(call.params.get("text", "")))
                and int(call.params["chat_id"]) == DEMO_TRADER_TELEGRAM_ID
                for call in telegram_api.of("sendMessage")
            )

        await eventually(notified, timeout_s=30, step_s=0.2)
    finally:
        device.terminate()
        await asyncio.wait_for(device.wait(), 15)
        device_log.close()

    await page.get_by_test_id("tab-billing").click()
    await page.get_by_test_id("tab-devices").click()
    await expect(page.get_by_test_id("last-seen")).to_have_text("just now")
    await expect(page.get_by_test_id("device-row")).to_contain_text("127.0.0.1")
