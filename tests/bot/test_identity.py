"""Without TELEGRAM_BOT_USERNAME the bot's username comes from getMe, through the real aiogram Bot
and the fake Bot API: once at start-up, again on first use if Telegram did not answer, then
cached."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI

from signalhub.app import create_app
from signalhub.bot.dispatcher import create_bot
from signalhub.bot.identity import BotIdentity
from signalhub.config import Settings
from signalhub.db import Database
from tests.fakes.telegram_api import BOT_USERNAME, FakeTelegramAPI


def client_for(app: FastAPI) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://testserver")


@pytest.fixture
def unnamed(settings: Settings) -> Settings:
    return settings.model_copy(update={"telegram_bot_username": None})


async def app_config_username(app: FastAPI) -> str | None:
    async with client_for(app) as client:
        response = await client.get("/api/v1/app-config")
    assert response.status_code == 200
    username: str | None = response.json()["bot_username"]
    return username


async def test_username_is_read_once_at_start_up_and_cached(
    unnamed: Settings, database: Database, telegram_api: FakeTelegramAPI
) -> None:
    app = create_app(unnamed, database)
    async with LifespanManager(app):
        assert len(telegram_api.of("getMe")) == 1
        for _ in range(3):
            assert await app_config_username(app) == BOT_USERNAME
        async with client_for(app) as client:
            started = await client.post("/oauth/mini_app/start")
        assert started.status_code == 200
        assert started.json()["qr_code_url"].startswith(f"https://t.me/{BOT_USERNAME}?start=login_")
    assert len(telegram_api.of("getMe")) == 1


async def test_unreachable_at_start_up_is_retried_on_first_use(
    unnamed: Settings, database: Database, telegram_api: FakeTelegramAPI
) -> None:
    telegram_api.fail_method_next("getMe", 502, "Bad Gateway")
    app = create_app(unnamed, database)
    async with LifespanManager(app):
        assert len(telegram_api.of("getMe")) == 1
        app.state.bot_identity._retry_after_s = 0
        assert await app_config_username(app) == BOT_USERNAME
        assert await app_config_username(app) == BOT_USERNAME
    assert [call.status for call in telegram_api.of("getMe")] == [502, 200]


async def test_a_failure_is_not_retried_within_the_back_off(
    unnamed: Settings, telegram_api: FakeTelegramAPI
) -> None:
    telegram_api.fail_method_next("getMe", 502, "Bad Gateway")
    bot = create_bot(unnamed)
    try:
        identity = BotIdentity(None, bot, retry_after_s=3600)
        assert await identity.username() is None
        assert await identity.username() is None
    finally:
        await bot.session.close()
    assert len(telegram_api.of("getMe")) == 1


async def test_a_configured_username_never_asks_telegram(
    telegram_api: FakeTelegramAPI, app: FastAPI
) -> None:
    assert await app_config_username(app) == "signalhub_test_bot"
    assert telegram_api.of("getMe") == []


@pytest.fixture
async def no_bot_app(settings: Settings, database: Database) -> AsyncIterator[FastAPI]:
    app = create_app(
        settings.model_copy(update={"telegram_bot_username": None, "telegram_bot_token": None}),
        database,
    )
    async with LifespanManager(app):
        yield app


async def test_without_a_bot_token_there_is_no_username(no_bot_app: FastAPI) -> None:
    assert await app_config_username(no_bot_app) is None
