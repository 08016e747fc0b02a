"""The Mini App as a trader opens it: from Telegram's launch parameters in the URL hash (as
Telegram Web passes them), against the real backend."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, quote, urlsplit

import pytest
from playwright.async_api import Page, Response, expect

from signalhub.auth.demo import launch_url
from signalhub.config import Environment, Settings
from signalhub.kit.time import utcnow
from signalhub.seed import DEMO_TRADER_TELEGRAM_ID
from tests.conftest import TEST_BOT_TOKEN
from tests.e2e.conftest import ACCESS_TOKEN_TTL_S

pytestmark = pytest.mark.browser


def signed_launch(base_url: str) -> str:
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None, env=Environment.test, public_url=base_url, telegram_bot_token=TEST_BOT_TOKEN
    )
    return launch_url(settings, DEMO_TRADER_TELEGRAM_ID, "Demo Trader", utcnow())


def tampered(url: str) -> str:
    base, fragment = url.split("#", 1)
    launch = dict(parse_qsl(fragment))
    launch["tgWebAppData"] = launch["tgWebAppData"].replace("Demo", "Evil")
    return base + "#" + "&".join(f"{k}={quote(v, safe='')}" for k, v in launch.items())


async def test_signed_launch_lands_on_tabs_and_billing_shows_seeded_tier(
    page: Page, live_server: str
) -> None:
    await page.goto(signed_launch(live_server))
    for tab in ("approvals", "billing", "devices", "positions"):
        await expect(page.get_by_test_id(f"tab-{tab}")).to_be_visible()
    await expect(page.get_by_test_id("empty-state")).to_be_visible()

    await page.get_by_test_id("tab-billing").click()
    await expect(page.get_by_test_id("billing-tier")).to_have_text("Premium")
    await expect(page.get_by_test_id("billing-expiry")).to_contain_text("Expires")
    rows = page.get_by_test_id("payment-row")
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("$19.00")
    await expect(rows.first).to_contain_text("Premium")
    assert urlsplit(page.url).path == "/miniapp/billing"


async def test_tampered_launch_shows_the_sign_in_page(page: Page, live_server: str) -> None:
    await page.goto(tampered(signed_launch(live_server)))
    await expect(page.get_by_test_id("signin-page")).to_be_visible()
    await expect(page.get_by_test_id("signin-error")).to_be_visible()
    await expect(page.get_by_test_id("tab-billing")).to_have_count(0)


async def test_protected_route_without_session_redirects_to_sign_in(
    page: Page, live_server: str
) -> None:
    await page.goto(f"{live_server}/miniapp/billing")
    await expect(page.get_by_test_id("signin-page")).to_be_visible()
    await expect(page.get_by_test_id("qr-code")).to_be_visible()
    assert urlsplit(page.url).path == "/miniapp/login"


async def test_access_token_is_refreshed_before_it_expires(page: Page, live_server: str) -> None:
    refreshes: list[int] = []
    billing_statuses: list[int] = []

    def record(response: Response) -> None:
        path = urlsplit(response.url).path
        if path == "/api/v1/auth/refresh":
            refreshes.append(response.status)
        if path == "/api/v1/billing":
            billing_statuses.append(response.status)

    page.on("response", record)
    await page.goto(signed_launch(live_server))
    await page.get_by_test_id("tab-billing").click()
    await expect(page.get_by_test_id("billing-tier")).to_have_text("Premium")

    await asyncio.sleep(ACCESS_TOKEN_TTL_S * 2)
    assert refreshes, "no refresh within two access-token lifetimes"
    assert set(refreshes) == {200}

    await page.get_by_test_id("tab-devices").click()
    await page.get_by_test_id("tab-billing").click()
    await expect(page.get_by_test_id("billing-tier")).to_have_text("Premium")
    assert billing_statuses
    assert set(billing_statuses) == {200}
