"""`signalhub telegram set-webhook` and `signalhub bot --polling` against the fake Bot API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from signalhub import cli
from signalhub.config import get_settings
from tests.bot import updates
from tests.conftest import TEST_BOT_TOKEN, TEST_WEBHOOK_SECRET
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import eventually


@pytest.fixture
def bot_env(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, telegram_api: FakeTelegramAPI
) -> Iterator[dict[str, str]]:
    environment = {
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'bot.db'}",
        "SIGNALHUB_TELEGRAM_BOT_TOKEN": TEST_BOT_TOKEN,
        "SIGNALHUB_TELEGRAM_WEBHOOK_SECRET": TEST_WEBHOOK_SECRET,
        "SIGNALHUB_TELEGRAM_API_BASE": telegram_api.base_url,
        "SIGNALHUB_PUBLIC_URL": "https://signals.example.com",
    }
    for name, value in environment.items():
        monkeypatch.setenv(name, value)
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield environment
    get_settings.cache_clear()


async def test_set_webhook_registers_the_url_secret_and_update_types(
    bot_env: dict[str, str], telegram_api: FakeTelegramAPI, capsys: pytest.CaptureFixture[str]
) -> None:
    assert await asyncio.to_thread(cli.main, ["telegram", "set-webhook"]) == 0
    call = telegram_api.of("setWebhook")[-1]
    assert call.params["url"] == "https://signals.example.com/telegram/webhook"
    assert call.params["secret_token"] == TEST_WEBHOOK_SECRET
    assert sorted(call.params["allowed_updates"]) == [
        "callback_query",
        "message",
        "my_chat_member",
        "pre_checkout_query",
    ]
    assert "webhook set: https://signals.example.com/telegram/webhook" in capsys.readouterr().out


async def test_set_webhook_needs_the_secret(
    bot_env: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("SIGNALHUB_TELEGRAM_WEBHOOK_SECRET")
    get_settings.cache_clear()
    assert cli.main(["telegram", "set-webhook"]) == 2
    monkeypatch.delenv("SIGNALHUB_TELEGRAM_BOT_TOKEN")
    get_settings.cache_clear()
    assert cli.main(["bot", "--polling"]) == 2


async def test_polling_answers_start(
    bot_env: dict[str, str], telegram_api: FakeTelegramAPI, tmp_path: Path
) -> None:
    signalhub = str(Path(sys.executable).parent / "signalhub")
    environment = {"PATH": os.environ.get("PATH", ""), **bot_env}
    migrate = await asyncio.create_subprocess_exec(
        signalhub, "migrate", env=environment, cwd=tmp_path
    )
    assert await migrate.wait() == 0
    polling = await asyncio.create_subprocess_exec(
        signalhub, "bot", "--polling", env=environment, cwd=tmp_path
    )
    try:
        # Starting the process takes half a minute on a loaded two-core machine.
        await eventually(lambda: bool(telegram_api.of("deleteWebhook")), 90)
        telegram_api.push_update(updates.command(424_242, "/start"))
        await eventually(lambda: bool(telegram_api.of("sendMessage")), 20)
        welcome = telegram_api.of("sendMessage")[-1]
        assert welcome.params["chat_id"] == "424242"
        assert "Welcome" in welcome.params["text"]
    finally:
        polling.send_signal(signal.SIGINT)
        assert await polling.wait() == 0
