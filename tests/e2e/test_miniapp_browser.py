"""The Mini App as a trader opens it: from Telegram's launch parameters in the URL hash (as
Telegram Web passes them), against the real backend."""

from __future__ import annotations

import asyncio
from urllib.parse import parse_qsl, quote, urlsplit

import httpx
import pytest
from playwright.async_api import Page, Response, expect

from signalhub.auth.demo import launch_url
from signalhub.config import Environment, Settings
from signalhub.kit.time import utcnow
from signalhub.seed import DEMO_TRADER_TELEGRAM_ID
from tests.bot import updates
from tests.conftest import TEST_BOT_TOKEN
from tests.e2e.conftest import ACCESS_TOKEN_TTL_S
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegramAPI

pytestmark = pytest.mark.browser

TRADER = 777_001


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


async def test_qr_sign_in_confirmed_in_the_bot(
    page: Page, live_server: str, telegram_api: FakeTelegramAPI
) -> None:
    """A desktop browser: QR page → the user opens the deep link in Telegram → the bot shows the
    match code → Confirm → the browser's next poll signs it in and lands on the tabs."""
    await page.goto(f"{live_server}/miniapp/login")
    link = page.get_by_test_id("login-link")
    await expect(link).to_be_visible()
    deep_link = await link.get_attribute("href")
    assert deep_link is not None
    assert deep_link.startswith(f"https://t.me/{BOT_USERNAME}?start=login_")
    start_parameter = dict(parse_qsl(urlsplit(deep_link).query))["start"]
    match_code = await page.get_by_test_id("match-code").inner_text()

    async with httpx.AsyncClient(base_url=live_server) as telegram:
        opened = await updates.post(telegram, updates.command(TRADER, f"/start {start_parameter}"))
        assert opened.status_code == 200
        shown = telegram_api.of("sendMessage")[-1].params
        assert match_code in shown["text"]
        confirm = shown["reply_markup"]["inline_keyboard"][0][0]
        assert confirm["text"] == "Confirm"
        confirmed = await updates.post(telegram, updates.callback(TRADER, confirm["callback_data"]))
        assert confirmed.status_code == 200

    await expect(page.get_by_test_id("tab-approvals")).to_be_visible(timeout=15_000)
    await page.get_by_test_id("tab-billing").click()
    await expect(page.get_by_test_id("billing-tier")).to_have_text("Free")


async def test_qr_sign_in_denied_in_the_bot_shows_the_refusal(
    page: Page, live_server: str, telegram_api: FakeTelegramAPI
) -> None:
    await page.goto(f"{live_server}/miniapp/login")
    link = page.get_by_test_id("login-link")
    await expect(link).to_be_visible()
    deep_link = await link.get_attribute("href")
    assert deep_link is not None
    start_parameter = dict(parse_qsl(urlsplit(deep_link).query))["start"]

    async with httpx.AsyncClient(base_url=live_server) as telegram:
        await updates.post(telegram, updates.command(TRADER, f"/start {start_parameter}"))
        deny = telegram_api.of("sendMessage")[-1].params["reply_markup"]["inline_keyboard"][0][1]
        await updates.post(telegram, updates.callback(TRADER, deny["callback_data"]))

    await expect(page.get_by_test_id("qr-error")).to_contain_text("declined", timeout=15_000)
    await expect(page.get_by_test_id("tab-approvals")).to_have_count(0)
