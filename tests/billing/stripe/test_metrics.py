"""Stripe events are counted by type and outcome at the webhook, where the outcome is known."""

from __future__ import annotations

import httpx
from prometheus_client import REGISTRY

from signalhub.models import Product, User
from tests.billing.stripe.conftest import post_event
from tests.fakes import stripe_events as ev


def events(outcome: str) -> float:
    labels = {"type": "charge.succeeded", "outcome": outcome}
    return REGISTRY.get_sample_value("signalhub_stripe_events_total", labels) or 0.0


async def test_a_processed_event_and_its_duplicate_are_counted(
    client: httpx.AsyncClient, buyer: User, product: Product
) -> None:
    before = {outcome: events(outcome) for outcome in ("processed", "duplicate")}
    payload = ev.event(
        "charge.succeeded",
        ev.charge(meta=ev.metadata(user_id=buyer.id, product=product.code)),
    )
    for _ in range(2):
        assert (await post_event(client, payload)).status_code == 200
    assert events("processed") == before["processed"] + 1
    assert events("duplicate") == before["duplicate"] + 1
