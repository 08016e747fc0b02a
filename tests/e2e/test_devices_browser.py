"""A trader adds a device in the Mini App, starts `signalhub device run` with its secret, and an
approved signal comes back as an execution notice from the bot; the tab shows the device seen."""

from __future__ import annotations

import asyncio
import re
import sys
from pathlib import Path

import httpx
import pytest
from playwright.async_api import Page, expect

from signalhub.seed import DEMO_TRADER_TELEGRAM_ID
from tests.e2e.conftest import ADMIN_TELEGRAM_ID
from tests.e2e.test_miniapp_browser import signed_launch
from tests.factories import signed_init_data
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import eventually

pytestmark = pytest.mark.browser


async def bearer(client: httpx.AsyncClient, telegram_id: int) -> dict[str, str]:
    response = await client.post(
        "/api/v1/auth/telegram", json={"init_data": signed_init_data(telegram_id)}
    )
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


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
            admin = await bearer(api, ADMIN_TELEGRAM_ID)
            published = await api.post(
                "/api/v1/admin/signals",
                headers=admin,
                json={
                    "symbol": "EURUSD",
                    "side": "buy",
                    "entry_price": "1.08512",
                    "stop_loss": "1.0820",
                    "take_profits": ["1.0900"],
                },
            )
            assert published.status_code == 201, published.text
            trader = await bearer(api, DEMO_TRADER_TELEGRAM_ID)
            signal_id = published.json()["id"]
            approval_ids: list[int] = []

            async def offered() -> bool:
                pending = (await api.get("/api/v1/approvals/pending", headers=trader)).json()
                approval_ids[:] = [a["id"] for a in pending if a["signal"]["id"] == signal_id]
                return bool(approval_ids)

            await eventually(offered, timeout_s=30, step_s=0.3)
            approved = await api.post(
                f"/api/v1/approvals/{approval_ids[0]}/approve", headers=trader
            )
            assert approved.status_code == 200, approved.text

        def executed() -> bool:
            return "EURUSD buy executed at 1.08512, ticket" in device_log_path.read_text()

        await eventually(executed, timeout_s=30, step_s=0.2)
        notice = re.compile(r"^EURUSD buy executed at 1\.08512, ticket \d+ \(Office MT5\)$")

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
