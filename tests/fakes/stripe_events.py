"""Stripe events as Stripe sends them (shapes after Stripe's own fixtures), and the
`Stripe-Signature` header Stripe computes over them."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from typing import Any

API_VERSION = "2024-06-20"
_sequence = itertools.count(1)


def unique(prefix: str) -> str:
    return f"{prefix}_{time.time_ns():x}{next(_sequence):04d}"


def sign(payload: str, secret: str, timestamp: int | None = None) -> str:
    """`t=<ts>,v1=<hex HMAC-SHA256(secret, "<ts>.<payload>")>`, as Stripe signs webhooks."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    digest = hmac.new(
        secret.encode(), f"{timestamp}.{payload}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def metadata(*, user_id: int | None = None, product: str | None = None) -> dict[str, str]:
    values = {}
    if user_id is not None:
        values["user_id"] = str(user_id)
    if product is not None:
        values["product"] = product
    return values


def charge(
    *,
    meta: dict[str, str],
    charge_id: str | None = None,
    payment_intent: str | None = None,
    amount: int = 1900,
    currency: str = "usd",
    status: str = "succeeded",
    amount_refunded: int = 0,
    failure_message: str | None = None,
    customer: str | None = "cus_NffrFeUfNV2Hib",
) -> dict[str, Any]:
    charge_id = charge_id or unique("ch")
    return {
        "id": charge_id,
        "object": "charge",
        "amount": amount,
        "amount_captured": amount if status == "succeeded" else 0,
        "amount_refunded": amount_refunded,
        "balance_transaction": "txn_3MmlLrLkdIwHu7ix0uke3Ezy",
        "billing_details": {"email": None, "name": None},
        "captured": status == "succeeded",
        "created": int(time.time()),
        "currency": currency,
        "customer": customer,
        "description": None,
        "failure_code": "card_declined" if failure_message else None,
        "failure_message": failure_message,
        "livemode": False,
        "metadata": meta,
        "outcome": {"network_status": "approved_by_network", "type": "authorized"},
        "paid": status == "succeeded",
        "payment_intent": payment_intent,
        "payment_method": "pm_1MmlLrLkdIwHu7ixIJwEWSNR",
        "payment_method_details": {"card": {"brand": "visa", "last4": "4242"}, "type": "card"},
        "receipt_url": None,
        "refunded": amount_refunded >= amount,
        "status": status,
    }


def checkout_session(
    *,
    meta: dict[str, str],
    payment_intent: str | None,
    amount_total: int = 1900,
    currency: str = "usd",
    payment_status: str = "paid",
) -> dict[str, Any]:
    return {
        "id": unique("cs_test"),
        "object": "checkout.session",
        "amount_subtotal": amount_total,
        "amount_total": amount_total,
        "client_reference_id": meta.get("user_id"),
        "created": int(time.time()),
        "currency": currency,
        "customer": "cus_NffrFeUfNV2Hib",
        "livemode": False,
        "metadata": meta,
        "mode": "payment",
        "payment_intent": payment_intent,
        "payment_method_types": ["card"],
        "payment_status": payment_status,
        "status": "complete",
        "url": None,
    }


def dispute(
    *, charge_id: str, payment_intent: str | None, status: str, amount: int = 1900
) -> dict[str, Any]:
    return {
        "id": unique("dp"),
        "object": "dispute",
        "amount": amount,
        "charge": charge_id,
        "created": int(time.time()),
        "currency": "usd",
        "livemode": False,
        "metadata": {},
        "payment_intent": payment_intent,
        "reason": "fraudulent",
        "status": status,
    }


def event(
    event_type: str,
    obj: dict[str, Any],
    *,
    event_id: str | None = None,
    livemode: bool = False,
    created: int | None = None,
    idempotency_key: str | None = None,
) -> dict[str, Any]:
    return {
        "id": event_id or unique("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()) if created is None else created,
        "data": {"object": obj},
        "livemode": livemode,
        "pending_webhooks": 1,
        "request": {"id": unique("req"), "idempotency_key": idempotency_key},
        "type": event_type,
    }


def body(payload: dict[str, Any]) -> str:
    return json.dumps(payload, separators=(",", ":"))
