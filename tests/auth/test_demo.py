from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

import httpx
import pytest

from signalhub import cli
from signalhub.auth.demo import DemoLinkRefused, launch_url
from signalhub.config import Environment, Settings, get_settings
from signalhub.kit.time import utcnow
from tests.conftest import TEST_DEVICE_SECRET_KEY


async def test_demo_link_signs_in_through_the_real_init_data_check(
    client: httpx.AsyncClient, settings: Settings
) -> None:
    url = launch_url(settings, 4242, "Demo", utcnow())
    parts = urlsplit(url)
    assert parts.path == "/miniapp/"
    launch = dict(parse_qsl(parts.fragment))
    assert launch["tgWebAppVersion"]
    response = await client.post(
        "/api/v1/auth/telegram", json={"init_data": launch["tgWebAppData"]}
    )
    assert response.status_code == 200
    assert response.json()["user"]["telegram_id"] == 4242


def test_demo_link_refuses_production(settings: Settings) -> None:
    production = settings.model_copy(update={"env": Environment.production})
    with pytest.raises(DemoLinkRefused):
        launch_url(production, 1, "Demo", utcnow())


def test_demo_link_command(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("SIGNALHUB_ENV", "development")
    monkeypatch.setenv("SIGNALHUB_TELEGRAM_BOT_TOKEN", "1:demo-token-for-the-demo-link")
    get_settings.cache_clear()
    assert cli.main(["demo-link"]) == 0
    printed = capsys.readouterr().out.strip()
    assert "#tgWebAppData=" in printed
    assert "demo-token" not in unquote(printed)

    monkeypatch.setenv("SIGNALHUB_ENV", "production")
    monkeypatch.setenv("SIGNALHUB_JWT_SECRET", "x" * 40)
    monkeypatch.setenv("SIGNALHUB_DATABASE_URL", "postgresql+asyncpg://h/db")
    monkeypatch.setenv("SIGNALHUB_TELEGRAM_WEBHOOK_SECRET", "hook-secret")
    monkeypatch.setenv("SIGNALHUB_DEVICE_SECRET_KEY", TEST_DEVICE_SECRET_KEY)
    get_settings.cache_clear()
    assert cli.main(["demo-link"]) == 2
    assert "never runs in production" in capsys.readouterr().err
    get_settings.cache_clear()
