"""The Help view in the built Mini App against a real `signalhub serve` seeded with the FAQ."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest
from playwright.async_api import Page, expect

from tests.e2e.test_miniapp_browser import signed_launch

pytestmark = pytest.mark.browser


async def test_help_from_the_header_search_as_you_type_and_read_an_article(
    page: Page, live_server: str
) -> None:
    await page.goto(signed_launch(live_server))
    await page.get_by_test_id("tab-billing").click()
    await page.get_by_test_id("help-button").click()
    await expect(page.get_by_test_id("help-page")).to_be_visible()
    await expect(page.get_by_test_id("help-result").first).to_be_visible()

    await page.get_by_test_id("help-category-devices").click()
    await expect(page.get_by_test_id("help-result")).to_have_count(6)

    await page.get_by_test_id("help-category-all").click()
    await page.get_by_test_id("help-search").fill("refu")
    first = page.get_by_test_id("help-result").first
    await expect(first).to_contain_text("Can I get a refund?")
    await expect(first.locator("mark").first).to_contain_text("refund", ignore_case=True)

    await first.click()
    article = page.get_by_test_id("help-article")
    await expect(article.get_by_role("heading")).to_have_text(
        "Can I get a refund? What happens if I do?"
    )
    await expect(article.locator("strong").first).to_be_visible()
    assert urlsplit(page.url).path == "/miniapp/help/refunds"


async def test_a_startapp_deep_link_opens_the_article(page: Page, live_server: str) -> None:
    await page.goto(f"{signed_launch(live_server)}&tgWebAppStartParam=help_device-limits")
    await expect(page.get_by_test_id("help-article").get_by_role("heading")).to_have_text(
        "How many devices can I connect?"
    )
    await expect(page.get_by_test_id("help-article")).to_contain_text("Enterprise")
