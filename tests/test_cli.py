from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from signalhub import cli
from signalhub.config import get_settings
from signalhub.db import Database
from signalhub.models import Product, Role, User
from signalhub.users import service as users
from tests.conftest import TEST_DEVICE_SECRET_KEY


def test_migrate_seed_and_downgrade_in_process(
    sqlite_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate"]) == 0
    assert cli.main(["seed"]) == 0
    assert "3 products" in capsys.readouterr().out

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


def test_seed_refuses_demo_users_in_production(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # Refused before any connection: this database does not exist.
    monkeypatch.setenv("SIGNALHUB_ENV", "production")
    monkeypatch.setenv("SIGNALHUB_DATABASE_URL", "postgresql+asyncpg://nobody@127.0.0.1:1/none")
    monkeypatch.setenv("SIGNALHUB_JWT_SECRET", "a-production-secret-long-enough-for-hs256")
    monkeypatch.setenv("SIGNALHUB_DEVICE_SECRET_KEY", TEST_DEVICE_SECRET_KEY)
    get_settings.cache_clear()
    try:
        assert cli.main(["seed"]) == 2
    finally:
        get_settings.cache_clear()
    error = capsys.readouterr().err
    assert "refused in production" in error
    assert "signalhub catalog apply" in error
    assert "signalhub admin promote" in error


def test_admin_promote_makes_the_first_admin(
    sqlite_env: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate"]) == 0
    capsys.readouterr()
    assert cli.main(["admin", "promote", "4242"]) == 0
    assert capsys.readouterr().out == "4242 is now an admin\n"
    assert cli.main(["admin", "promote", "4242"]) == 0
    assert capsys.readouterr().out == "4242 is already an admin\n"

    async def after_first_contact() -> User:
        database = Database.from_url(sqlite_env)
        async with database.transaction() as session:
            user = await users.upsert_from_telegram(
                session, users.TelegramProfile(4242, "operator", "Op"), admin_telegram_ids=[]
            )
        await database.dispose()
        return user

    user = asyncio.run(after_first_contact())
    assert (user.role, user.username) == (Role.admin, "operator")


@pytest.mark.parametrize("value", ["0", "-5", "abc", str(2**63)])
def test_admin_promote_takes_only_telegram_ids(value: str) -> None:
    with pytest.raises(SystemExit):
        cli.build_parser().parse_args(["admin", "promote", value])


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
