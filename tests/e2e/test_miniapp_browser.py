"""The Mini App as a trader opens it: from Telegram's launch parameters in the URL hash (as
Telegram Web passes them), against the real backend."""

from __future__ import annotations

import asyncio
from typing import Any
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
STRANGER = 777_666


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


async def open_qr_page(page: Page, live_server: str) -> tuple[str, str]:
    """The browser's sign-in page: the deep link's start parameter and the match code."""
    await page.goto(f"{live_server}/miniapp/login")
    link = page.get_by_test_id("login-link")
    await expect(link).to_be_visible()
    deep_link = await link.get_attribute("href")
    assert deep_link is not None
    assert deep_link.startswith(f"https://t.me/{BOT_USERNAME}?start=login_")
    start_parameter = dict(parse_qsl(urlsplit(deep_link).query))["start"]
    return start_parameter, await page.get_by_test_id("match-code").inner_text()


async def answer_in_the_bot(
    live_server: str,
    telegram_api: FakeTelegramAPI,
    telegram_id: int,
    start_parameter: str,
    button: str,
) -> dict[str, str]:
    """Opens the deep link as `telegram_id` and taps Confirm or Deny; returns the bot's message."""
    async with httpx.AsyncClient(base_url=live_server) as telegram:
        opened = await updates.post(
            telegram, updates.command(telegram_id, f"/start {start_parameter}")
        )
        assert opened.status_code == 200
        shown: dict[str, Any] = telegram_api.of("sendMessage")[-1].params
        buttons = {b["text"]: b for b in shown["reply_markup"]["inline_keyboard"][0]}
        tapped = await updates.post(
            telegram, updates.callback(telegram_id, buttons[button]["callback_data"])
        )
        assert tapped.status_code == 200
    return shown


async def test_qr_sign_in_confirmed_in_the_bot_and_accepted_in_the_browser(
    page: Page, live_server: str, telegram_api: FakeTelegramAPI
) -> None:
    """A desktop browser: QR page → the user opens the deep link in Telegram → the bot shows the
    match code → Confirm → the browser shows who confirmed → Accept → the tabs."""
    start_parameter, match_code = await open_qr_page(page, live_server)
    shown = await answer_in_the_bot(live_server, telegram_api, TRADER, start_parameter, "Confirm")
    assert match_code in shown["text"]

    await expect(page.get_by_test_id("qr-account")).to_have_text(
        f"Sign in as Trader (@trader{TRADER})?", timeout=15_000
    )
    await expect(page.get_by_test_id("qr-avatar")).to_have_text("T")
    await expect(page.get_by_test_id("tab-approvals")).to_have_count(0)
    await page.get_by_role("button", name="Accept").click()

    await expect(page.get_by_test_id("tab-approvals")).to_be_visible(timeout=15_000)
    await page.get_by_test_id("tab-billing").click()
    await expect(page.get_by_test_id("billing-tier")).to_have_text("Free")


async def test_qr_sign_in_a_stranger_is_refused_and_the_owner_signs_in(
    page: Page, live_server: str, telegram_api: FakeTelegramAPI
) -> None:
    """Login CSRF: an onlooker denies, then another confirms with the code on the screen. The
    denial changes nothing; the browser shows the stranger's name and its user says Not me; the
    owner confirms with the same code and accepts."""
    start_parameter, _ = await open_qr_page(page, live_server)
    await answer_in_the_bot(live_server, telegram_api, STRANGER, start_parameter, "Deny")
    await answer_in_the_bot(live_server, telegram_api, STRANGER + 1, start_parameter, "Confirm")

    await expect(page.get_by_test_id("qr-account")).to_contain_text(
        f"@trader{STRANGER + 1}", timeout=15_000
    )
    await page.get_by_role("button", name="Not me").click()
    await expect(page.get_by_test_id("qr-notice")).to_contain_text("was not signed in")
    await expect(page.get_by_test_id("qr-code")).to_be_visible()

    await answer_in_the_bot(live_server, telegram_api, TRADER + 1, start_parameter, "Confirm")
    await expect(page.get_by_test_id("qr-account")).to_contain_text(
        f"@trader{TRADER + 1}", timeout=15_000
    )
    await page.get_by_role("button", name="Accept").click()
    await expect(page.get_by_test_id("tab-approvals")).to_be_visible(timeout=15_000)
