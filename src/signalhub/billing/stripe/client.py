"""The only module that calls Stripe's API: the official SDK's `StripeClient` over its async
httpx client. Every write carries an idempotency key derived from our own ids, so a retried
request (the SDK's own retries included) never creates a second object at Stripe; every
Stripe failure leaves here as `StripeUnavailable` or `StripeRequestRejected`."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe

from signalhub.billing.stripe.errors import (
    StripeNotConfigured,
    StripeRequestRejected,
    StripeUnavailable,
)
from signalhub.config import Settings
from signalhub.models import Product

# The SDK waits 0.5 s, 1 s, ... between attempts; two retries ride out a blip without
# keeping a user's request waiting for long.
MAX_NETWORK_RETRIES = 2
TIMEOUT_S = 30.0
EVENTS_PAGE_SIZE = 100


# The metadata key naming our payment attempt on every object a checkout creates.
ATTEMPT_KEY = "payment_attempt"


@dataclass(frozen=True)
class CheckoutSession:
    id: str
    url: str | None
    expires_at: datetime | None


@dataclass(frozen=True)
class PaymentIntent:
    id: str
    client_secret: str | None


class StripeApi:
    def __init__(
        self,
        settings: Settings,
        *,
        max_network_retries: int = MAX_NETWORK_RETRIES,
        timeout_s: float = TIMEOUT_S,
    ) -> None:
        if settings.stripe_api_key is None:
            raise StripeNotConfigured("Stripe is not configured: SIGNALHUB_STRIPE_API_KEY.")
        base = settings.stripe_api_base.rstrip("/") if settings.stripe_api_base else None
        self._http = stripe.HTTPXClient(timeout=timeout_s)
        self._client = stripe.StripeClient(
            settings.stripe_api_key.get_secret_value(),
            base_addresses={"api": base, "connect": base} if base else None,
            max_network_retries=max_network_retries,
            http_client=self._http,
        )
        self._public_url = settings.public_url.rstrip("/")

    async def aclose(self) -> None:
        # The SDK leaves this one method unannotated.
        await self._http.close_async()  # type: ignore[no-untyped-call]

    async def create_checkout_session(
        self, *, user_id: int, product: Product, attempt_id: str
    ) -> CheckoutSession:
        """Every parameter follows from the arguments, so a retry with the same attempt is the
        same request to Stripe, which answers it with the session it already made."""
        metadata = {**_metadata(user_id, product), ATTEMPT_KEY: attempt_id}
        pay_page = f"{self._public_url}/miniapp/pay"
        with _translated():
            session = await self._client.v1.checkout.sessions.create_async(
                {
                    "mode": "payment",
                    "client_reference_id": str(user_id),
                    "line_items": [
                        {
                            "quantity": 1,
                            "price_data": {
                                "currency": product.price_currency.lower(),
                                "unit_amount": product.price_amount_minor,
                                "product_data": {"name": product.name},
                            },
                        }
                    ],
                    "metadata": metadata,
                    # The charge carries the metadata too: its events name user and product.
                    "payment_intent_data": {"metadata": metadata},
                    "success_url": f"{pay_page}/success?attempt={attempt_id}",
                    "cancel_url": f"{pay_page}/cancelled?attempt={attempt_id}",
                },
                {"idempotency_key": f"checkout:{user_id}:{product.code}:{attempt_id}"},
            )
        expires_at = getattr(session, "expires_at", None)
        return CheckoutSession(
            id=session.id,
            url=session.url,
            expires_at=datetime.fromtimestamp(expires_at, UTC) if expires_at else None,
        )

    async def create_payment_intent(
        self, *, user_id: int, product: Product, attempt_id: str
    ) -> PaymentIntent:
        with _translated():
            intent = await self._client.v1.payment_intents.create_async(
                {
                    "amount": product.price_amount_minor,
                    "currency": product.price_currency.lower(),
                    "metadata": _metadata(user_id, product),
                },
                {"idempotency_key": f"payment_intent:{user_id}:{product.code}:{attempt_id}"},
            )
        return PaymentIntent(id=intent.id, client_secret=intent.client_secret)

    async def retrieve_charge(self, charge_id: str) -> dict[str, Any]:
        with _translated():
            charge = await self._client.v1.charges.retrieve_async(charge_id)
        return charge.to_dict()

    async def retrieve_customer(self, customer_id: str) -> dict[str, Any]:
        with _translated():
            customer = await self._client.v1.customers.retrieve_async(customer_id)
        return customer.to_dict()

    async def list_events(self, created_gte: datetime) -> AsyncIterator[dict[str, Any]]:
        """Every event created since then, newest first, following Stripe's pages."""
        with _translated():
            page = await self._client.v1.events.list_async(
                {"created": {"gte": int(created_gte.timestamp())}, "limit": EVENTS_PAGE_SIZE}
            )
            async for event in page.auto_paging_iter():
                yield event.to_dict()


def _metadata(user_id: int, product: Product) -> dict[str, str]:
    return {"user_id": str(user_id), "product": product.code}


@contextmanager
def _translated() -> Iterator[None]:
    try:
        yield
    except (stripe.APIConnectionError, stripe.RateLimitError) as error:
        raise StripeUnavailable(f"Stripe is unreachable: {error.user_message}") from error
    except stripe.StripeError as error:
        status = error.http_status
        if status is None or status >= 500:
            raise StripeUnavailable(f"Stripe failed: {error.user_message}") from error
        raise StripeRequestRejected(
            error.user_message or "Stripe rejected the request.",
            stripe_code=error.code,
            stripe_status=status,
        ) from error
