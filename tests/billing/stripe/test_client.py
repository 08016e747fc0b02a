"""The real `stripe` SDK, through our client, over HTTP against the local fake of Stripe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import timedelta

import pytest

from signalhub.billing.stripe.client import StripeApi
from signalhub.billing.stripe.errors import (
    StripeNotConfigured,
    StripeRequestRejected,
    StripeUnavailable,
)
from signalhub.config import Settings
from signalhub.kit.time import utcnow
from signalhub.models import Product
from tests.conftest import make_settings
from tests.e2e.server import free_port
from tests.fakes import stripe_events as ev
from tests.fakes.stripe_api import FakeStripe


@pytest.fixture
async def api(settings: Settings, fake_stripe: FakeStripe) -> AsyncIterator[StripeApi]:
    client = StripeApi(settings.model_copy(update={"stripe_api_base": fake_stripe.base_url}))
    yield client
    await client.aclose()


async def test_checkout_session_carries_metadata_and_our_idempotency_key(
    api: StripeApi, fake_stripe: FakeStripe, product: Product
) -> None:
    session = await api.create_checkout_session(user_id=7, product=product, attempt_id="a1")
    assert session.id.startswith("cs_test_")
    assert session.url is not None

    (request,) = fake_stripe.requests_to("/v1/checkout/sessions")
    assert request.idempotency_key == f"checkout:7:{product.code}:a1"
    assert request.headers["Authorization"] == "Bearer sk_test_fake_0123456789abcdefghij"
    assert request.form["mode"] == "payment"
    assert request.form["metadata[user_id]"] == "7"
    assert request.form["metadata[product]"] == product.code
    assert request.form["payment_intent_data[metadata][user_id]"] == "7"
    assert request.form["line_items[0][price_data][unit_amount]"] == "1900"
    assert request.form["line_items[0][price_data][currency]"] == "usd"


async def test_a_500_is_retried_with_the_same_idempotency_key(
    api: StripeApi, fake_stripe: FakeStripe, product: Product
) -> None:
    fake_stripe.fail_next(500, "api_error", "Something went wrong on Stripe's end.")
    intent = await api.create_payment_intent(user_id=7, product=product, attempt_id="a2")
    assert intent.id.startswith("pi_")
    assert intent.client_secret is not None
    requests = fake_stripe.requests_to("/v1/payment_intents")
    assert len(requests) == 2
    assert {request.idempotency_key for request in requests} == {
        f"payment_intent:7:{product.code}:a2"
    }
    # Asked again with the same attempt, Stripe replays the first answer: no second intent.
    again = await api.create_payment_intent(user_id=7, product=product, attempt_id="a2")
    assert again.id == intent.id


async def test_a_429_that_stripe_says_to_retry_is_retried(
    api: StripeApi, fake_stripe: FakeStripe
) -> None:
    fake_stripe.customers["cus_1"] = {"id": "cus_1", "object": "customer", "email": "a@b.c"}
    fake_stripe.fail_next(
        429,
        "invalid_request_error",
        "This object cannot be accessed right now.",
        code="lock_timeout",
        headers={"Stripe-Should-Retry": "true"},
    )
    customer = await api.retrieve_customer("cus_1")
    assert customer["email"] == "a@b.c"
    assert len(fake_stripe.requests_to("/v1/customers/cus_1")) == 2


async def test_rate_limits_and_5xx_that_persist_are_unavailable(
    api: StripeApi, fake_stripe: FakeStripe
) -> None:
    fake_stripe.fail_next(429, "invalid_request_error", "Too many requests", code="rate_limit")
    with pytest.raises(StripeUnavailable) as rate_limited:
        await api.retrieve_charge("ch_1")
    assert rate_limited.value.status_code == 503
    assert rate_limited.value.retryable

    fake_stripe.fail_next(500, "api_error", "Stripe is down.", times=3)
    with pytest.raises(StripeUnavailable):
        await api.retrieve_charge("ch_1")
    assert len(fake_stripe.requests_to("/v1/charges/ch_1")) == 1 + 3


@pytest.mark.parametrize(
    ("status", "error_type", "code", "message"),
    [
        (402, "card_error", "card_declined", "Your card was declined."),
        (400, "invalid_request_error", "parameter_invalid_integer", "Invalid integer: abc"),
    ],
)
async def test_stripe_refusals_are_rejected_with_stripes_message(
    api: StripeApi,
    fake_stripe: FakeStripe,
    product: Product,
    status: int,
    error_type: str,
    code: str,
    message: str,
) -> None:
    fake_stripe.fail_next(status, error_type, message, code=code)
    with pytest.raises(StripeRequestRejected) as rejected:
        await api.create_payment_intent(user_id=7, product=product, attempt_id="a3")
    assert rejected.value.message == message
    assert rejected.value.stripe_code == code
    assert rejected.value.stripe_status == status
    assert rejected.value.status_code == 502
    assert not rejected.value.retryable
    assert len(fake_stripe.requests_to("/v1/payment_intents")) == 1


async def test_a_missing_object_is_rejected_as_not_retryable(api: StripeApi) -> None:
    with pytest.raises(StripeRequestRejected) as rejected:
        await api.retrieve_charge("ch_missing")
    assert rejected.value.stripe_status == 404
    assert rejected.value.stripe_code == "resource_missing"
    assert "No such charge" in rejected.value.message


async def test_a_charge_comes_back_as_a_plain_dict(api: StripeApi, fake_stripe: FakeStripe) -> None:
    charge = ev.charge(meta={"user_id": "1", "product": "p"}, payment_intent="pi_1")
    fake_stripe.charges[str(charge["id"])] = charge
    assert await api.retrieve_charge(str(charge["id"])) == charge


async def test_events_are_listed_across_pages_since_a_time(
    api: StripeApi, fake_stripe: FakeStripe
) -> None:
    now = int(utcnow().timestamp())
    fake_stripe.events = [
        ev.event("customer.created", {"id": f"cus_{n}", "object": "customer"}, created=now - n)
        for n in range(230)
    ]
    old = ev.event("customer.created", {"id": "cus_old", "object": "customer"}, created=now - 10**6)
    fake_stripe.events.append(old)

    listed = [event async for event in api.list_events(utcnow() - timedelta(hours=1))]
    assert [event["id"] for event in listed] == [event["id"] for event in fake_stripe.events[:230]]
    requests = fake_stripe.requests_to("/v1/events")
    assert len(requests) == 3
    assert {request.query["limit"] for request in requests} == {"100"}
    assert all(int(request.query["created[gte]"]) <= now - 3600 + 1 for request in requests)
    assert "starting_after" not in requests[0].query
    assert requests[1].query["starting_after"] == listed[99]["id"]


async def test_an_unreachable_stripe_is_unavailable(settings: Settings, product: Product) -> None:
    closed = settings.model_copy(update={"stripe_api_base": f"http://127.0.0.1:{free_port()}"})
    api = StripeApi(closed, max_network_retries=0)
    try:
        with pytest.raises(StripeUnavailable):
            await api.create_payment_intent(user_id=1, product=product, attempt_id="a4")
    finally:
        await api.aclose()


def test_without_an_api_key_stripe_is_not_configured(database_url: str) -> None:
    with pytest.raises(StripeNotConfigured):
        StripeApi(make_settings(database_url))
