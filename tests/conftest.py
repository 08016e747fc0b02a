"""Test fixtures (after Polar's tests/fixtures): one database built by `alembic upgrade head` per
run, each test inside a transaction that is rolled back; race tests get a committing engine.

SIGNALHUB_TEST_DATABASE_URL picks the database (PostgreSQL in CI); the default is a SQLite file."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest
from asgi_lifespan import LifespanManager
from fastapi import FastAPI
from hypothesis import settings as hypothesis_settings
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncSession, async_sessionmaker

from signalhub import migrations
from signalhub.app import create_app
from signalhub.config import Environment, Settings
from signalhub.db import Database
from signalhub.models import Base
from tests.fakes.telegram_api import FakeTelegramAPI

# Properties test behaviour, not speed (that is bench/'s job): no per-example deadline, which on
# a loaded two-core CI machine only produces false failures.
hypothesis_settings.register_profile("signalhub", deadline=None)
hypothesis_settings.load_profile("signalhub")

TEST_BOT_TOKEN = "123456789:AAFakeTestTokenForSignalhubTests_0123"
TEST_JWT_SECRET = "test-jwt-secret-which-is-long-enough-for-hs256"
TEST_WEBHOOK_SECRET = "test-webhook-secret_0123456789"
TEST_DEVICE_SECRET_KEY = "dGVzdC1kZXZpY2Utc2VjcmV0LWtleS0zMi1ieXRlcyE="


def test_database_url(tmp_dir: Path) -> str:
    return os.environ.get(
        "SIGNALHUB_TEST_DATABASE_URL", f"sqlite+aiosqlite:///{tmp_dir / 'signalhub-test.db'}"
    )


def is_postgres(url: str) -> bool:
    return url.startswith("postgresql")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    url = os.environ.get("SIGNALHUB_TEST_DATABASE_URL", "sqlite")
    if is_postgres(url):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set SIGNALHUB_TEST_DATABASE_URL")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def database_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return test_database_url(tmp_path_factory.mktemp("db"))


def make_settings(database_url: str, **overrides: object) -> Settings:
    values: dict[str, object] = {
        "env": Environment.test,
        "database_url": database_url,
        "jwt_secret": TEST_JWT_SECRET,
        "device_secret_key": TEST_DEVICE_SECRET_KEY,
        "telegram_bot_token": TEST_BOT_TOKEN,
        "telegram_bot_username": "signalhub_test_bot",
        "admin_telegram_ids": [900],
        "run_worker_in_process": False,
        "signin_rate_limit_per_minute": 10_000,
    }
    values.update(overrides)
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture(scope="session")
async def telegram_server() -> AsyncIterator[FakeTelegramAPI]:
    """One fake Bot API per run; every Bot built from `settings` talks to it, never to Telegram."""
    fake = FakeTelegramAPI()
    await fake.start()
    yield fake
    await fake.stop()


@pytest.fixture
def telegram_api(telegram_server: FakeTelegramAPI) -> FakeTelegramAPI:
    telegram_server.reset()
    return telegram_server


@pytest.fixture
def settings(database_url: str, telegram_server: FakeTelegramAPI) -> Settings:
    return make_settings(
        database_url,
        telegram_api_base=telegram_server.base_url,
        telegram_webhook_secret=TEST_WEBHOOK_SECRET,
    )


@pytest.fixture(scope="session")
async def migrated_database(database_url: str) -> AsyncIterator[Database]:
    database = Database.from_url(database_url)
    await migrations.rebuild(database)
    yield database
    await database.dispose()


@pytest.fixture
async def connection(migrated_database: Database) -> AsyncIterator[AsyncConnection]:
    async with migrated_database.engine.connect() as connection:
        transaction = await connection.begin()
        yield connection
        await transaction.rollback()


@pytest.fixture
def database(migrated_database: Database, connection: AsyncConnection) -> Database:
    """A Database whose sessions all join the test's outer transaction: a commit in the code
    under test releases a savepoint, and everything is rolled back after the test."""
    return Database(
        migrated_database.engine,
        async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        ),
    )


@pytest.fixture
async def session(database: Database) -> AsyncIterator[AsyncSession]:
    async with database.sessionmaker() as session:
        yield session


@pytest.fixture
async def committing_database(migrated_database: Database) -> AsyncIterator[Database]:
    """Real commits on separate connections, for concurrency tests; tables emptied afterwards."""
    yield migrated_database
    async with migrated_database.engine.begin() as connection:
        for table in reversed(Base.metadata.sorted_tables):
            await connection.execute(table.delete())


@pytest.fixture
async def app(settings: Settings, database: Database) -> AsyncIterator[FastAPI]:
    application = create_app(settings, database)
    async with LifespanManager(application):
        yield application


@pytest.fixture
async def client(app: FastAPI) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client
