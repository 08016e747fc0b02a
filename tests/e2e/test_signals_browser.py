"""A signal published over the admin API appears in the open Mini App without a reload, is
approved there, and the trader's bot message (at the fake Bot API) shows the decision."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from signalhub.seed import DEMO_ADMIN_TELEGRAM_ID, DEMO_TRADER_TELEGRAM_ID
from tests.e2e.test_miniapp_browser import signed_launch
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import bearer_for, eventually

pytestmark = pytest.mark.browser


async def test_a_published_signal_is_approved_in_the_mini_app_and_the_bot_message_follows(
    page: Page, live_server: str, telegram_api: FakeTelegramAPI
) -> None:
    await page.goto(signed_launch(live_server))
    await expect(page.get_by_test_id("tab-approvals")).to_be_visible(timeout=15_000)

    async with httpx.AsyncClient(base_url=live_server, timeout=30) as client:
        admin = await bearer_for(client, DEMO_ADMIN_TELEGRAM_ID)
        published = await client.post(
            "/api/v1/admin/signals",
            headers=admin,
            json={
                "symbol": "GBPJPY",
                "side": "sell",
                "entry_price": "191.20",
                "stop_loss": "191.80",
                "take_profits": ["190.40"],
            },
        )
        assert published.status_code == 201, published.text

    card = page.get_by_test_id("signal-card").filter(has_text="GBPJPY")
    await expect(card).to_be_visible(timeout=15_000)
    await expect(card.get_by_test_id("side")).to_have_text("SELL")
    await expect(card.get_by_test_id("countdown")).to_contain_text("expires in 0d 0h 1")
    await card.get_by_role("button", name="Approve").click()

    await expect(card).to_have_count(0)
    history = page.get_by_test_id("history-item").filter(has_text="GBPJPY")
    await expect(history).to_contain_text("Approved", timeout=10_000)

    def bot_message_shows_the_decision() -> bool:
        return any(
            call.params.get("chat_id") == str(DEMO_TRADER_TELEGRAM_ID)
            and "GBPJPY" in str(call.params.get("text"))
            and "✅ Approved in the Mini App" in str(call.params.get("text"))
            for call in telegram_api.of("sendMessage") + telegram_api.of("editMessageText")
        )

    await eventually(bot_message_shows_the_decision, timeout_s=20)
