"""The webhook over HTTP with real signatures: what is accepted, what is refused, and that a
refused event leaves nothing behind."""

from __future__ import annotations

import logging
import time

import httpx
import pytest
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.stripe import handlers
from signalhub.config import Environment, Settings
from signalhub.db import Database
from signalhub.models import Entitlement, Payment, Product, StripeEvent, User
from tests.billing.stripe.conftest import (
    OLD_WEBHOOK_SECRET,
    WEBHOOK_SECRET,
    ClientFactory,
    post_event,
)
from tests.factories import create_product, create_user
from tests.fakes import stripe_events as ev


async def count(session: AsyncSession, model: type[object]) -> int:
    return int(await session.scalar(select(func.count()).select_from(model)) or 0)


def succeeded(user: User, product: Product) -> dict[str, object]:
    return ev.event(
        "charge.succeeded",
        ev.charge(
            meta=ev.metadata(user_id=user.id, product=product.code), payment_intent=ev.unique("pi")
        ),
        idempotency_key="checkout:1:premium:abc",
    )


async def test_a_signed_event_is_stored_with_its_summary_and_processed(
    client: httpx.AsyncClient, session: AsyncSession, buyer: User, product: Product
) -> None:
    payload = succeeded(buyer, product)
    signed_at = int(time.time()) - 5
    response = await post_event(client, payload, timestamp=signed_at)
    assert response.status_code == 200, response.text
    assert response.json() == {"received": True, "outcome": "processed"}

    stored = await session.scalar(select(StripeEvent).where(StripeEvent.event_id == payload["id"]))
    assert stored is not None
    assert (stored.event_type, stored.status, stored.livemode) == (
        "charge.succeeded",
        "processed",
        False,
    )
    assert (stored.amount_minor, stored.currency, stored.payment_method) == (1900, "USD", "card")
    assert stored.customer_id == "cus_NffrFeUfNV2Hib"
    assert stored.idempotency_key == "checkout:1:premium:abc"
    assert stored.webhook_timestamp is not None
    assert int(stored.webhook_timestamp.timestamp()) == signed_at
    assert stored.processed_at is not None
    assert stored.payload["id"] == payload["id"]


async def test_the_same_event_twice_is_a_no_op(
    client: httpx.AsyncClient, session: AsyncSession, buyer: User, product: Product
) -> None:
    payload = succeeded(buyer, product)
    assert (await post_event(client, payload)).json()["outcome"] == "processed"
    again = await post_event(client, payload)
    assert again.status_code == 200
    assert again.json()["outcome"] == "duplicate"
    assert await count(session, StripeEvent) == 1
    assert await count(session, Payment) == 1
    assert await count(session, Entitlement) == 1


async def test_rotated_secrets_old_and_new_verify_an_unknown_one_does_not(
    client: httpx.AsyncClient, session: AsyncSession, buyer: User, product: Product
) -> None:
    assert (
        await post_event(client, succeeded(buyer, product), secret=WEBHOOK_SECRET)
    ).status_code == 200
    assert (
        await post_event(client, succeeded(buyer, product), secret=OLD_WEBHOOK_SECRET)
    ).status_code == 200
    unknown = await post_event(
        client, succeeded(buyer, product), secret="whsec_someone_else_entirely"
    )
    assert unknown.status_code == 401
    assert unknown.json()["error"]["code"] == "invalid_signature"
    assert await count(session, StripeEvent) == 2


async def test_a_tampered_body_is_refused_and_logged_without_secrets(
    client: httpx.AsyncClient,
    session: AsyncSession,
    buyer: User,
    product: Product,
    caplog: pytest.LogCaptureFixture,
) -> None:
    payload = succeeded(buyer, product)
    body = ev.body(payload)
    header = ev.sign(body, WEBHOOK_SECRET)
    tampered = body.replace('"amount":1900', '"amount":1')
    with caplog.at_level(logging.WARNING, logger="signalhub.billing.stripe.webhook"):
        response = await client.post(
            "/api/v1/stripe/webhook", content=tampered, headers={"Stripe-Signature": header}
        )
    assert response.status_code == 401
    assert await count(session, StripeEvent) == 0
    assert await count(session, Payment) == 0
    rejected = [record for record in caplog.records if record.message == "stripe webhook rejected"]
    assert len(rejected) == 1
    logged = str(rejected[0].__dict__)
    assert WEBHOOK_SECRET not in logged
    assert OLD_WEBHOOK_SECRET not in logged
    assert header.split("v1=")[1] not in logged


async def test_a_stale_timestamp_is_refused(
    client: httpx.AsyncClient, session: AsyncSession, buyer: User, product: Product
) -> None:
    response = await post_event(client, succeeded(buyer, product), timestamp=int(time.time()) - 301)
    assert response.status_code == 401
    assert await count(session, StripeEvent) == 0


async def test_a_missing_header_is_a_bad_request(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    response = await client.post("/api/v1/stripe/webhook", content=b"{}")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_webhook"
    assert await count(session, StripeEvent) == 0


@pytest.mark.parametrize(
    "body",
    [b"not json at all", b'{"object": "event"}', b"[1, 2]", b"\xff\xfe not utf-8"],
    ids=["garbage", "no-id", "array", "not-utf8"],
)
async def test_an_unparsable_body_is_a_bad_request(
    client: httpx.AsyncClient, session: AsyncSession, body: bytes
) -> None:
    # Correctly signed (where it is text at all), so only the parsing can refuse it.
    text = body.decode("utf-8", errors="replace")
    response = await client.post(
        "/api/v1/stripe/webhook",
        content=body,
        headers={"Stripe-Signature": ev.sign(text, WEBHOOK_SECRET)},
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_webhook"
    assert await count(session, StripeEvent) == 0


async def test_test_mode_events_are_refused_in_production_unless_accepted(
    client_for: ClientFactory,
    settings: Settings,
    session: AsyncSession,
    buyer: User,
    product: Product,
) -> None:
    production = settings.model_copy(update={"env": Environment.production})
    async with client_for(production) as client:
        refused = await post_event(client, succeeded(buyer, product))
        live = succeeded(buyer, product) | {"livemode": True}
        accepted_live = await post_event(client, live)
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "test_event_refused"
    assert accepted_live.status_code == 200

    tolerant = production.model_copy(update={"stripe_accept_test_events": True})
    async with client_for(tolerant) as client:
        assert (await post_event(client, succeeded(buyer, product))).status_code == 200
    assert await count(session, StripeEvent) == 2


async def test_without_a_webhook_secret_stripe_is_not_configured(
    client_for: ClientFactory,
    settings: Settings,
    session: AsyncSession,
    buyer: User,
    product: Product,
) -> None:
    async with client_for(settings.model_copy(update={"stripe_webhook_secret": []})) as client:
        response = await post_event(client, succeeded(buyer, product))
    assert response.status_code == 503
    assert response.json()["error"]["code"] == "stripe_not_configured"
    assert await count(session, StripeEvent) == 0


async def test_an_unexpected_failure_answers_500_and_keeps_nothing(
    client_for: ClientFactory,
    settings: Settings,
    session: AsyncSession,
    buyer: User,
    product: Product,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def broken(context: handlers.EventContext, charge: dict[str, object]) -> None:
        await handlers.charge_succeeded(context, charge)
        raise RuntimeError("database went away mid-handler")

    monkeypatch.setitem(handlers.HANDLERS, "charge.succeeded", broken)
    payload = succeeded(buyer, product)
    async with client_for(settings) as client:
        response = await post_event(client, payload)
    assert response.status_code == 500
    assert await count(session, StripeEvent) == 0
    assert await count(session, Payment) == 0
    assert await count(session, Entitlement) == 0

    monkeypatch.setitem(handlers.HANDLERS, "charge.succeeded", handlers.charge_succeeded)
    async with client_for(settings) as client:
        retried = await post_event(client, payload)
    assert retried.json()["outcome"] == "processed"
    assert await count(session, Entitlement) == 1


async def test_other_event_types_are_stored_and_acknowledged(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    payload = ev.event("customer.created", {"id": "cus_123", "object": "customer", "metadata": {}})
    response = await post_event(client, payload)
    assert response.json()["outcome"] == "processed"
    stored = await session.scalar(select(StripeEvent).where(StripeEvent.event_id == payload["id"]))
    assert stored is not None
    assert stored.status == "processed"


async def test_an_event_that_can_never_succeed_is_kept_failed_and_answered_200(
    client: httpx.AsyncClient, session: AsyncSession, buyer: User
) -> None:
    payload = ev.event(
        "charge.succeeded",
        ev.charge(meta=ev.metadata(user_id=buyer.id, product="discontinued_plan")),
    )
    response = await post_event(client, payload)
    assert response.status_code == 200
    assert response.json()["outcome"] == "failed"
    stored = await session.scalar(select(StripeEvent).where(StripeEvent.event_id == payload["id"]))
    assert stored is not None
    assert (stored.status, stored.error_message) == (
        "failed",
        "unknown product 'discontinued_plan'",
    )
    assert (await post_event(client, payload)).json()["outcome"] == "duplicate"


@pytest.mark.postgres
async def test_a_new_event_costs_eight_statements_and_a_duplicate_one(
    client_for: ClientFactory, settings: Settings, committing_database: Database
) -> None:
    """The webhook's hot path, counted on real commits (issue 15): the event row, the payer's
    lock, the product, the payment, the running period, the grant, the audit rows (one insert)
    and the receipt; a duplicate is the event row's insert that finds it there. No savepoint."""
    async with committing_database.transaction() as session:
        buyer = await create_user(session)
        product = await create_product(session, price_amount_minor=1900, duration_days=30)
    payload = succeeded(buyer, product)
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    engine = committing_database.engine.sync_engine
    async with client_for(settings, committing_database) as client:
        event.listen(engine, "before_cursor_execute", record)
        try:
            assert (await post_event(client, payload)).json()["outcome"] == "processed"
            new_event = list(statements)
            statements.clear()
            assert (await post_event(client, payload)).json()["outcome"] == "duplicate"
            duplicate = list(statements)
        finally:
            event.remove(engine, "before_cursor_execute", record)
    assert len(new_event) <= 8, new_event
    assert not [text for text in new_event if "SAVEPOINT" in text.upper()]
    assert sum(text.startswith("INSERT INTO audit_log") for text in new_event) == 1, new_event
    assert len(duplicate) == 1, duplicate
    assert duplicate[0].startswith("INSERT INTO stripe_events")
