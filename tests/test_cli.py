from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select

from signalhub import cli
from signalhub.config import get_settings
from signalhub.db import Database
from signalhub.models import Product


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("SIGNALHUB_DATABASE_URL", url)
    monkeypatch.setenv("SIGNALHUB_ENV", "test")
    monkeypatch.chdir(tmp_path)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_migrate_seed_and_downgrade_in_process(
    sqlite_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["seed"]) == 0
    assert "3 products" in capsys.readouterr().out

    import asyncio

    async def product_codes() -> list[str]:
        database = Database.from_url(sqlite_env)
        async with database.transaction() as session:
            codes = list((await session.scalars(select(Product.code))).all())
        await database.dispose()
        return codes

    assert len(asyncio.run(product_codes())) == 3
    assert cli.main(["migrate", "--downgrade", "base"]) == 0


def test_parser_knows_every_role() -> None:
    parser = cli.build_parser()
    for command in ("serve", "worker", "migrate", "seed"):
        assert parser.parse_args([command]).command == command


def test_openapi_writes_the_http_contract(
    sqlite_env: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    assert cli.main(["openapi"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert "/api/v1/billing" in printed["paths"]
    assert "TokenResponse" in printed["components"]["schemas"]

    target = tmp_path / "openapi.json"
    assert cli.main(["openapi", "--output", str(target)]) == 0
    assert json.loads(target.read_text(encoding="utf-8")) == printed
