"""`POST /api/v1/payments` and `GET /api/v1/payments/{id}` against the fake Bot API and the fake
Stripe API, with the Idempotency-Key semantics."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from asgi_lifespan import LifespanManager
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.app import create_app
from signalhub.billing import service as billing
from signalhub.billing.stars import service as stars
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import IdempotencyKey, Product, User
from tests.conftest import TEST_WEBHOOK_SECRET, make_settings
from tests.factories import create_product, create_user
from tests.fakes.stripe_api import FakeStripe
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import bearer_for

TRADER = 777_001


@pytest.fixture
async def product(session: AsyncSession) -> Product:
    product = await create_product(session, code="premium_pay", price_stars=1500)
    await session.commit()
    return product


@pytest.fixture
async def trader(session: AsyncSession) -> User:
    user = await create_user(session, telegram_id=TRADER)
    await session.commit()
    return user


@pytest.fixture
async def auth(client: httpx.AsyncClient, trader: User) -> dict[str, str]:
    return await bearer_for(client, TRADER)


def pay(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    body: dict[str, Any],
    key: str | None = "attempt-0001",
) -> Any:
    headers = {**auth, **({"Idempotency-Key": key} if key is not None else {})}
    return client.post("/api/v1/payments", json=body, headers=headers)


async def test_stars_opens_one_invoice_link_and_a_retry_replays_it(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    trader: User,
    product: Product,
    telegram_api: FakeTelegramAPI,
) -> None:
    body = {"product": product.code, "method": "stars"}
    first = await pay(client, auth, body)
    assert first.status_code == 201, first.text
    created = first.json()
    assert created["status"] == "pending"
    assert created["method"] == "stars"
    assert (created["amount_minor"], created["currency"]) == (1500, "XTR")
    (link,) = telegram_api.of("createInvoiceLink")
    assert created["invoice_link"].startswith("https://t.me/$fake_invoice_")
    assert link.params["currency"] == "XTR"
    assert link.params["prices"] == [{"label": product.name, "amount": 1500}]
    order = stars.InvoicePayload.decode(link.params["payload"])
    assert (order.product_code, order.user_id, order.payment_request_id) == (
        product.code,
        trader.id,
        created["id"],
    )

    again = await pay(client, auth, {"method": "stars", "product": product.code})
    assert again.status_code == 201
    assert again.headers["Idempotent-Replayed"] == "true"
    assert again.json() == created
    assert len(telegram_api.of("createInvoiceLink")) == 1

    status = await client.get(f"/api/v1/payments/{created['id']}", headers=auth)
    assert status.status_code == 200
    assert status.json()["status"] == "pending"


async def test_the_same_key_with_another_body_is_refused(
    client: httpx.AsyncClient, auth: dict[str, str], product: Product
) -> None:
    assert (
        await pay(client, auth, {"product": product.code, "method": "stars"})
    ).status_code == 201
    other = await pay(client, auth, {"product": product.code, "method": "stripe"})
    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"


@pytest.mark.parametrize(
    ("key", "status"),
    [(None, 400), ("", 400), ("k" * 256, 400), (" padded", 400), ("k" * 255, 201)],
    ids=["missing", "empty", "too-long", "leading-space", "longest"],
)
async def test_the_key_is_required_and_bounded(
    client: httpx.AsyncClient, auth: dict[str, str], product: Product, key: str | None, status: int
) -> None:
    response = await pay(client, auth, {"product": product.code, "method": "stars"}, key)
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["error"]["code"] == "idempotency_key_invalid"


async def test_without_a_token_it_is_401(client: httpx.AsyncClient, product: Product) -> None:
    response = await pay(client, {}, {"product": product.code, "method": "stars"})
    assert response.status_code == 401


@pytest.mark.parametrize("method", ["stars", "stripe"])
async def test_an_unknown_or_inactive_product_is_400_and_releases_the_key(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    session: AsyncSession,
    method: str,
) -> None:
    retired = await create_product(session, code=f"retired_{method}", is_active=False)
    await session.commit()
    for code in ("no_such_plan", retired.code):
        response = await pay(client, auth, {"product": code, "method": method}, key=code)
        assert response.status_code == 400
        assert response.json()["error"]["code"] == "invalid_product"
    keys = await session.scalar(select(func.count()).select_from(IdempotencyKey))
    assert keys == 0


async def test_hostile_bodies_are_4xx(
    client: httpx.AsyncClient, auth: dict[str, str], product: Product
) -> None:
    for index, body in enumerate(
        [
            {"product": product.code},
            {"product": product.code, "method": "paypal"},
            {"product": "x\x00y", "method": "stars"},
            {"product": "p" * 65, "method": "stars"},
            {"product": 5, "method": "stars"},
            {"product": product.code, "method": "stars", "extra": 1},
            [],
        ]
    ):
        response = await pay(client, auth, body, key=f"hostile-{index}")  # type: ignore[arg-type]
        assert response.status_code == 422, (body, response.text)
    for bad_id, status in (("0", 422), (str(2**63), 422), ("-1", 404), ("abc", 404)):
        response = await client.get(f"/api/v1/payments/{bad_id}", headers=auth)
        assert response.status_code == status


async def test_stripe_opens_a_checkout_session_with_a_derived_idempotency_key(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    trader: User,
    product: Product,
    fake_stripe: FakeStripe,
) -> None:
    response = await pay(client, auth, {"product": product.code, "method": "stripe"})
    assert response.status_code == 201, response.text
    created = response.json()
    assert created["checkout_url"].startswith("https://checkout.stripe.com/")
    assert created["expires_at"] is not None
    assert (created["amount_minor"], created["currency"]) == (1900, "USD")
    (request,) = fake_stripe.requests_to("/v1/checkout/sessions")
    assert request.idempotency_key is not None
    assert request.idempotency_key.startswith(f"checkout:{trader.id}:{product.code}:")
    assert request.form["metadata[user_id]"] == str(trader.id)
    assert request.form["metadata[product]"] == product.code
    assert request.form["success_url"].startswith("https://signals.example.com/miniapp/pay/")
    assert request.form["cancel_url"].startswith("https://signals.example.com/miniapp/pay/")

    replay = await pay(client, auth, {"product": product.code, "method": "stripe"})
    assert replay.json() == created
    assert len(fake_stripe.requests_to("/v1/checkout/sessions")) == 1


async def test_a_provider_failure_releases_the_key_and_the_retry_reuses_stripes_key(
    client: httpx.AsyncClient, auth: dict[str, str], product: Product, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail_next(500, "api_error", "Stripe is down", times=3)
    body = {"product": product.code, "method": "stripe"}
    failed = await pay(client, auth, body)
    assert failed.status_code == 503
    retried = await pay(client, auth, body)
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried.headers
    keys = {request.idempotency_key for request in fake_stripe.requests_to("/v1/checkout/sessions")}
    assert len(keys) == 1


async def test_a_method_that_is_not_configured_is_409(
    database_url: str,
    database: Database,
    telegram_server: FakeTelegramAPI,
    session: AsyncSession,
    product: Product,
    trader: User,
) -> None:
    settings = make_settings(
        database_url,
        telegram_api_base=telegram_server.base_url,
        telegram_webhook_secret=TEST_WEBHOOK_SECRET,
    )
    app = create_app(settings, database)
    async with LifespanManager(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
            auth = await bearer_for(client, TRADER)
            response = await pay(client, auth, {"product": product.code, "method": "stripe"})
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "method_unavailable"


async def test_the_status_shows_the_tier_once_the_stars_payment_arrives(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    session: AsyncSession,
    settings: Settings,
    trader: User,
    product: Product,
    telegram_api: FakeTelegramAPI,
) -> None:
    created = (await pay(client, auth, {"product": product.code, "method": "stars"})).json()
    payload = telegram_api.of("createInvoiceLink")[-1].params["payload"]
    await stars.record_successful_payment(
        session,
        settings,
        payer=trader,
        telegram_payment_charge_id="stxPaid1",
        provider_payment_charge_id=None,
        payload=payload,
        total_amount=1500,
        currency="XTR",
        is_recurring=False,
        now=utcnow(),
    )
    await session.commit()
    paid = (await client.get(f"/api/v1/payments/{created['id']}", headers=auth)).json()
    assert paid["status"] == "paid"
    assert paid["tier"] == "premium"
    assert paid["tier_expires_at"] is not None


async def test_another_users_payment_is_404(
    client: httpx.AsyncClient, auth: dict[str, str], product: Product
) -> None:
    created = (await pay(client, auth, {"product": product.code, "method": "stars"})).json()
    stranger = await bearer_for(client, TRADER + 1)
    response = await client.get(f"/api/v1/payments/{created['id']}", headers=stranger)
    assert response.status_code == 404
    assert (await client.get("/api/v1/payments/999999", headers=auth)).status_code == 404


async def test_keys_expire_after_a_day_and_are_purged(
    client: httpx.AsyncClient, auth: dict[str, str], session: AsyncSession, product: Product
) -> None:
    assert (
        await pay(client, auth, {"product": product.code, "method": "stars"})
    ).status_code == 201
    assert await billing.purge_expired_idempotency_keys(session, utcnow()) == 0
    key = await session.scalar(select(IdempotencyKey))
    assert key is not None
    assert key.expires_at - key.created_at == timedelta(hours=24)

    # Expired but not yet purged: the key starts afresh, even for another request.
    key.expires_at = utcnow() - timedelta(seconds=1)
    await session.commit()
    fresh = await pay(client, auth, {"product": product.code, "method": "stripe"})
    assert fresh.status_code == 201
    assert "Idempotent-Replayed" not in fresh.headers

    assert (
        await billing.purge_expired_idempotency_keys(session, utcnow() + timedelta(hours=25)) == 1
    )
    assert await session.scalar(select(func.count()).select_from(IdempotencyKey)) == 0


async def test_a_mismatched_payment_is_listed_for_admins_only(
    client: httpx.AsyncClient,
    auth: dict[str, str],
    session: AsyncSession,
    settings: Settings,
    trader: User,
    product: Product,
    telegram_api: FakeTelegramAPI,
) -> None:
    await pay(client, auth, {"product": product.code, "method": "stars"})
    payload = telegram_api.of("createInvoiceLink")[-1].params["payload"]
    await stars.record_successful_payment(
        session,
        settings,
        payer=trader,
        telegram_payment_charge_id="stxShort1",
        provider_payment_charge_id=None,
        payload=payload,
        total_amount=1,
        currency="XTR",
        is_recurring=False,
        now=utcnow(),
    )
    await session.commit()
    assert (await client.get("/api/v1/admin/payments", headers=auth)).status_code == 403
    admin = await bearer_for(client, 900)
    listed = await client.get("/api/v1/admin/payments?status=mismatched", headers=admin)
    assert listed.status_code == 200
    (entry,) = listed.json()
    assert (entry["provider_payment_id"], entry["status"], entry["amount_minor"]) == (
        "stxShort1",
        "mismatched",
        1,
    )
    assert "1500 Stars" in entry["failure_reason"]


async def test_app_config_lists_the_payment_methods_stars_first(
    client: httpx.AsyncClient,
) -> None:
    config = (await client.get("/api/v1/app-config")).json()
    assert config["payment_methods"] == ["stars", "stripe"]
