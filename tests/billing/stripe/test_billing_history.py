"""Stripe payments as the user sees them in `GET /api/v1/billing`."""

from __future__ import annotations

import httpx
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.users import service as users
from tests.billing.stripe.conftest import post_event
from tests.factories import create_product
from tests.fakes import stripe_events as ev
from tests.helpers import bearer_for


async def test_stripe_payments_show_in_the_billing_overview(
    client: httpx.AsyncClient, session: AsyncSession
) -> None:
    headers = await bearer_for(client, 5550001)
    user = await users.get_by_telegram_id(session, 5550001)
    assert user is not None
    product = await create_product(session, code="vip_month_stripe", price_amount_minor=4900)
    meta = {"telegram_id": str(user.telegram_id), "product": product.code}

    kept = ev.charge(meta=meta, payment_intent=ev.unique("pi"), amount=4900)
    refunded = ev.charge(meta=meta, payment_intent=ev.unique("pi"), amount=4900)
    for payload in (
        ev.event("charge.succeeded", kept),
        ev.event("charge.succeeded", refunded),
        ev.event("charge.refunded", {**refunded, "amount_refunded": 4900}),
    ):
        assert (await post_event(client, payload)).status_code == 200

    response = await client.get("/api/v1/billing", headers=headers)
    assert response.status_code == 200
    overview = response.json()
    assert overview["tier"] == product.tier
    assert overview["expires_at"] is not None
    rows = sorted(
        (
            row["status"],
            row["provider"],
            row["product_code"],
            row["product_name"],
            row["amount_minor"],
            row["currency"],
        )
        for row in overview["payments"]
    )
    assert rows == [
        ("refunded", "stripe", "vip_month_stripe", product.name, 4900, "USD"),
        ("succeeded", "stripe", "vip_month_stripe", product.name, 4900, "USD"),
    ]
