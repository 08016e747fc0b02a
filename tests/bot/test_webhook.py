"""The webhook transport, /start, /status and the blocked flag."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.app import create_app
from signalhub.bot.deep_links import StartPayload
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.users import service as users
from tests.bot import updates
from tests.conftest import TEST_WEBHOOK_SECRET
from tests.factories import create_payment, create_product, create_user
from tests.fakes.telegram_api import FakeTelegramAPI

TRADER = 555_002


@pytest.mark.parametrize("secret", [None, "wrong-secret"])
async def test_a_bad_secret_is_401_and_nothing_is_dispatched(
    client: httpx.AsyncClient,
    session: AsyncSession,
    telegram_api: FakeTelegramAPI,
    secret: str | None,
) -> None:
    response = await updates.post(client, updates.command(TRADER, "/start"), secret=secret)
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "bad_webhook_secret"
    assert telegram_api.calls == []
    assert await users.get_by_telegram_id(session, TRADER) is None


@pytest.mark.parametrize("body", [b"{not json", b"[1, 2]", b'{"update_id": "x"}'])
async def test_a_malformed_update_is_a_400_json_error(
    client: httpx.AsyncClient, body: bytes
) -> None:
    response = await client.post(
        "/telegram/webhook",
        content=body,
        headers={"X-Telegram-Bot-Api-Secret-Token": TEST_WEBHOOK_SECRET},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "malformed_update"


@pytest.fixture
async def client_without_bot(
    settings: Settings, database: Database
) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings.model_copy(update={"telegram_bot_token": None}), database)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            yield client


async def test_the_webhook_is_503_without_a_bot(client_without_bot: httpx.AsyncClient) -> None:
    response = await updates.post(client_without_bot, updates.command(TRADER, "/start"))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "telegram_disabled"


async def test_start_registers_the_user_and_updates_the_profile(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await updates.post(client, updates.command(TRADER, "/start"))
    user = await users.get_by_telegram_id(session, TRADER)
    assert user is not None
    assert user.username == f"trader{TRADER}"
    assert "Welcome to signalhub, Trader" in telegram_api.of("sendMessage")[-1].params["text"]


async def test_start_shop_deep_link_shows_the_shop(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await create_product(session, code="premium_deep", price_stars=1500)
    await session.commit()
    await updates.post(client, updates.command(TRADER, "/start shop"))
    assert telegram_api.of("sendMessage")[-1].params["text"].startswith("Plans:")


async def test_the_menu_offers_the_mini_app_only_over_https(
    settings: Settings, database: Database, telegram_api: FakeTelegramAPI
) -> None:
    https = settings.model_copy(update={"public_url": "https://signals.example.com"})
    app = create_app(https, database)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            await updates.post(client, updates.command(TRADER, "/start"))
    rows = telegram_api.of("sendMessage")[-1].params["reply_markup"]["inline_keyboard"]
    assert rows[1][0]["web_app"] == {"url": "https://signals.example.com/miniapp/"}


def test_start_payloads_are_parsed_for_later_features() -> None:
    assert StartPayload.parse("login_ab12") == StartPayload("login", "ab12")
    assert StartPayload.parse("shop") == StartPayload("shop")
    assert StartPayload.parse(None) == StartPayload(None)


async def test_status_shows_the_tier_and_expiry(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await updates.post(client, updates.command(TRADER, "/status"))
    assert "free" in telegram_api.of("sendMessage")[-1].params["text"]

    user = await users.get_by_telegram_id(session, TRADER)
    assert user is not None
    product = await create_product(session, code="premium_status")
    payment = await create_payment(session, user, product)
    await entitlements.grant(session, product, payment, utcnow())
    await session.commit()
    await updates.post(client, updates.callback(TRADER, "menu:status"))
    assert telegram_api.of("answerCallbackQuery")
    assert "Your plan: premium, until" in telegram_api.of("sendMessage")[-1].params["text"]

    await updates.post(client, updates.callback(TRADER, "menu:shop"))
    assert telegram_api.of("sendMessage")[-1].params["text"].startswith("Plans:")


async def test_my_chat_member_keeps_the_blocked_flag(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    user = await create_user(session, telegram_id=TRADER)
    await session.commit()
    await updates.post(client, updates.my_chat_member(TRADER, "member", "kicked"))
    await session.refresh(user)
    assert user.bot_blocked
    await updates.post(client, updates.my_chat_member(TRADER, "kicked", "member"))
    await session.refresh(user)
    assert not user.bot_blocked


async def test_the_shop_says_so_when_nothing_is_on_sale(
    client: httpx.AsyncClient, telegram_api: FakeTelegramAPI
) -> None:
    await updates.post(client, updates.command(TRADER, "/shop"))
    assert telegram_api.of("sendMessage")[-1].params["text"] == "Nothing is on sale right now."


async def test_buying_a_withdrawn_product_alerts_instead_of_invoicing(
    client: httpx.AsyncClient, session: AsyncSession, telegram_api: FakeTelegramAPI
) -> None:
    await create_product(session, code="gone", is_active=False)
    await create_product(session, code="yearly", duration_days=365)
    await session.commit()
    await updates.post(client, updates.callback(TRADER, "buy:gone:0"))
    await updates.post(client, updates.callback(TRADER, "buy:yearly:1"))
    alerts = telegram_api.of("answerCallbackQuery")
    assert "no longer on sale" in alerts[0].params["text"]
    assert "monthly" in alerts[1].params["text"]
    assert telegram_api.of("sendInvoice") == []
