"""Upgrading from the Mini App with Stars, as a trader does it: Billing → Upgrade → the payment
page → Pay; Telegram's own updates (pre-checkout, successful payment) are posted to the webhook
as Telegram would, and the page and the Billing tab show the new tier."""

from __future__ import annotations

import httpx
import pytest
from playwright.async_api import Page, expect

from signalhub.billing.stars.service import InvoicePayload
from signalhub.seed import DEMO_TRADER_TELEGRAM_ID
from tests.bot import updates
from tests.e2e.test_miniapp_browser import signed_launch
from tests.fakes.telegram_api import FakeTelegramAPI

pytestmark = pytest.mark.browser


async def test_upgrade_to_vip_with_stars(
    page: Page, live_server: str, telegram_api: FakeTelegramAPI
) -> None:
    await page.goto(signed_launch(live_server))
    await page.get_by_test_id("tab-billing").click()
    await expect(page.get_by_test_id("billing-tier")).to_have_text("Premium")

    await page.get_by_test_id("upgrade-button").click()
    premium = page.get_by_test_id("plan-premium_monthly")
    await expect(premium.get_by_test_id("current-tier")).to_be_visible()
    await expect(page.get_by_test_id("plan-vip_monthly")).to_contain_text("⭐")
    await page.get_by_test_id("plan-vip_monthly").click()
    await expect(page.get_by_test_id("method-stars")).to_be_visible()
    # Outside Telegram the invoice link opens in a new window; Telegram would show the invoice.
    async with page.context.expect_page() as invoice_window:
        await page.get_by_test_id("pay-button").click()
    await (await invoice_window.value).close()

    (link,) = telegram_api.of("createInvoiceLink")
    payload = link.params["payload"]
    stars = link.params["prices"][0]["amount"]
    assert InvoicePayload.decode(payload).product_code == "vip_monthly"
    await expect(page.get_by_test_id("pay-status")).to_be_visible()

    async with httpx.AsyncClient(base_url=live_server) as telegram:
        await updates.post(telegram, updates.pre_checkout(DEMO_TRADER_TELEGRAM_ID, payload, stars))
        assert telegram_api.of("answerPreCheckoutQuery")[-1].params["ok"] == "true"
        paid = updates.successful_payment(DEMO_TRADER_TELEGRAM_ID, payload, stars, "stxBrowser1")
        assert (await updates.post(telegram, paid)).status_code == 200

    await expect(page.get_by_test_id("pay-success")).to_contain_text(
        "Payment successful! Tier upgraded.", timeout=15_000
    )
    await page.go_back()
    await expect(page.get_by_test_id("billing-tier")).to_have_text("VIP")
