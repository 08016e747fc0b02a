"""What `make run` does, as an operator would see it: migrate, seed, serve, then HTTP."""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from tests.e2e.server import running_server, signalhub


def test_migrate_seed_serve_answers_health_and_lists_products(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "SIGNALHUB_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path / 'var' / 'signalhub.db'}",
        "SIGNALHUB_ENV": "development",
    }
    env.pop("SIGNALHUB_TELEGRAM_BOT_TOKEN", None)
    assert signalhub("migrate", env=env, cwd=tmp_path).returncode == 0
    first = signalhub("seed", env=env, cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "3 products, 2 users, 1 payments, 2 signals created" in first.stdout
    again = signalhub("seed", env=env, cwd=tmp_path).stdout
    assert "0 products, 0 users, 0 payments, 0 signals" in again
    link = signalhub("demo-link", env=env, cwd=tmp_path).stdout.strip()
    init_data = parse_qs(urlsplit(link).fragment)["tgWebAppData"][0]

    with running_server(env, tmp_path) as base_url:
        assert httpx.get(f"{base_url}/healthz").json() == {"status": "ok"}
        assert httpx.get(f"{base_url}/readyz").status_code == 200
        catalog = httpx.get(f"{base_url}/api/v1/catalog").json()
        assert [product["code"] for product in catalog] == [
            "premium_monthly",
            "vip_monthly",
            "enterprise_monthly",
        ]
        # The demo trader opening the Mini App sees the two seeded signals as cards.
        tokens = httpx.post(f"{base_url}/api/v1/auth/telegram", json={"init_data": init_data})
        bearer = {"Authorization": f"Bearer {tokens.json()['access_token']}"}
        pending = httpx.get(f"{base_url}/api/v1/approvals/pending", headers=bearer).json()
        assert sorted(card["signal"]["symbol"] for card in pending) == ["EURUSD", "XAUUSD"]
    log = (tmp_path / "server.log").read_text()
    assert "telegram disabled" in log
    assert "stripe disabled" in log


def test_bad_configuration_is_a_clear_message(tmp_path: Path) -> None:
    env = {**os.environ, "SIGNALHUB_ENV": "production"}
    result = signalhub("migrate", env=env, cwd=tmp_path)
    assert result.returncode == 2
    assert "SIGNALHUB_JWT_SECRET" in result.stderr
    assert "Traceback" not in result.stderr
