from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from signalhub.app import create_app
from signalhub.billing.stripe import service
from signalhub.billing.stripe.service import EventOutcome
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.models import Product, User
from tests.billing.conftest import STRIPE_API_KEY
from tests.conftest import make_settings
from tests.factories import create_product, create_user
from tests.fakes import stripe_events

WEBHOOK_SECRET = "whsec_test_current_0123456789abcdef"
OLD_WEBHOOK_SECRET = "whsec_test_previous_0123456789abcdef"
API_KEY = STRIPE_API_KEY


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(
        database_url,
        stripe_webhook_secret=[WEBHOOK_SECRET, OLD_WEBHOOK_SECRET],
        stripe_api_key=API_KEY,
    )


ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def client_for(database: Database) -> ClientFactory:
    """An HTTP client for an app built with other settings or another database."""

    @asynccontextmanager
    async def open_client(
        settings: Settings, db: Database | None = None
    ) -> AsyncIterator[httpx.AsyncClient]:
        application = create_app(settings, db or database)
        async with LifespanManager(application):
            # 500s are answered, not raised, as a real server would.
            transport = httpx.ASGITransport(app=application, raise_app_exceptions=False)
            async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as c:
                yield c

    return open_client


async def post_event(
    client: httpx.AsyncClient,
    payload: dict[str, Any],
    *,
    secret: str = WEBHOOK_SECRET,
    timestamp: int | None = None,
) -> httpx.Response:
    body = stripe_events.body(payload)
    return await client.post(
        "/api/v1/stripe/webhook",
        content=body,
        headers={
            "Stripe-Signature": stripe_events.sign(body, secret, timestamp),
            "Content-Type": "application/json",
        },
    )


async def deliver(
    session: AsyncSession, settings: Settings, payload: dict[str, Any]
) -> EventOutcome:
    """As the webhook receives an event, in transactions of its own; on the test's connection,
    so that what it commits is visible to `session` and rolled back with the test."""
    connection = await session.connection()
    database = Database(
        connection.engine,
        async_sessionmaker(
            bind=connection, expire_on_commit=False, join_transaction_mode="create_savepoint"
        ),
    )
    return await service.receive(database, payload, settings, signed_at=None)


@pytest.fixture
async def buyer(session: AsyncSession) -> User:
    return await create_user(session)


@pytest.fixture
async def product(session: AsyncSession) -> Product:
    return await create_product(session, price_amount_minor=1900, duration_days=30)
