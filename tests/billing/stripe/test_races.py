"""Two API instances receiving the same event at the same instant: real commits on separate
PostgreSQL connections, so the unique index, not luck, decides."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.models import Entitlement, Payment, StripeEvent
from tests.billing.stripe.conftest import ClientFactory, post_event
from tests.factories import create_product, create_user
from tests.fakes import stripe_events as ev


async def counts(database: Database) -> tuple[int, int, int]:
    async with database.transaction() as session:
        values = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (StripeEvent, Payment, Entitlement)
        ]
    return values[0] or 0, values[1] or 0, values[2] or 0


@pytest.mark.postgres
async def test_fifty_concurrent_deliveries_of_one_event_store_one_payment_and_one_grant(
    committing_database: Database, settings: Settings, client_for: ClientFactory
) -> None:
    async with committing_database.transaction() as session:
        user, product = await create_user(session), await create_product(session)
    payload = ev.event(
        "charge.succeeded",
        ev.charge(
            meta=ev.metadata(user_id=user.id, product=product.code), payment_intent=ev.unique("pi")
        ),
    )
    async with client_for(settings, committing_database) as client:
        responses = await asyncio.gather(*(post_event(client, payload) for _ in range(50)))

    assert [response.status_code for response in responses] == [200] * 50
    outcomes = sorted(response.json()["outcome"] for response in responses)
    assert outcomes == ["duplicate"] * 49 + ["processed"]
    assert await counts(committing_database) == (1, 1, 1)


@pytest.mark.postgres
async def test_checkout_and_charge_events_at_once_give_one_payment_and_one_grant(
    committing_database: Database, settings: Settings, client_for: ClientFactory
) -> None:
    async with committing_database.transaction() as session:
        user, product = await create_user(session), await create_product(session)
    meta = ev.metadata(user_id=user.id, product=product.code)
    intent = ev.unique("pi")
    checkout = ev.event(
        "checkout.session.completed", ev.checkout_session(meta=meta, payment_intent=intent)
    )
    charge = ev.event("charge.succeeded", ev.charge(meta=meta, payment_intent=intent))
    async with client_for(settings, committing_database) as client:
        responses = await asyncio.gather(
            *(post_event(client, payload) for payload in [checkout, charge] * 10)
        )
    assert {response.status_code for response in responses} == {200}
    assert await counts(committing_database) == (2, 1, 1)


@pytest.mark.postgres
async def test_a_refund_and_a_dispute_at_once_both_count(
    committing_database: Database, settings: Settings, client_for: ClientFactory
) -> None:
    """Each event merges its fact into what the other committed: neither overwrites the other."""
    async with committing_database.transaction() as session:
        user, product = await create_user(session), await create_product(session)
    meta = ev.metadata(user_id=user.id, product=product.code)
    async with client_for(settings, committing_database) as client:
        for _ in range(5):
            intent = ev.unique("pi")
            charge = ev.charge(meta=meta, payment_intent=intent)
            assert (
                await post_event(client, ev.event("charge.succeeded", charge))
            ).status_code == 200
            opened = ev.dispute(
                charge_id=str(charge["id"]), payment_intent=intent, status="needs_response"
            )
            refund = ev.event("charge.refunded", {**charge, "amount_refunded": 700})
            responses = await asyncio.gather(
                post_event(client, refund),
                post_event(client, ev.event("charge.dispute.created", opened)),
            )
            assert [response.status_code for response in responses] == [200, 200]
            async with committing_database.transaction() as session:
                payment = await session.scalar(
                    select(Payment).where(Payment.provider_payment_id == intent)
                )
            assert payment is not None
            assert (payment.status, payment.refunded_amount_minor) == ("disputed", 700)
            assert payment.details["facts"]["dispute"] == "open"
            assert payment.details["facts"]["refunded_minor"] == 700


@pytest.mark.postgres
async def test_many_purchases_by_one_user_at_once_do_not_deadlock(
    committing_database: Database, settings: Settings, client_for: ClientFactory
) -> None:
    """The user's lock is taken before anything referencing the user is inserted: a payment's
    foreign key share-locks the user row, and two such holders both asking for the lock
    would deadlock."""
    async with committing_database.transaction() as session:
        user, product = await create_user(session), await create_product(session)
    meta = ev.metadata(user_id=user.id, product=product.code)
    payloads = [
        ev.event("charge.succeeded", ev.charge(meta=meta, payment_intent=ev.unique("pi")))
        for _ in range(20)
    ]
    async with client_for(settings, committing_database) as client:
        responses = await asyncio.gather(*(post_event(client, payload) for payload in payloads))
    assert [response.status_code for response in responses] == [200] * 20
    assert await counts(committing_database) == (20, 20, 20)
