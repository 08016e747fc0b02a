"""Verifying what arrives at the webhook: Stripe's signature over the raw body, with every
configured secret (rotation lists the new and the old one), and the event's mode."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import stripe

from signalhub.billing.stripe.errors import (
    StripeNotConfigured,
    UnacceptedTestEvent,
    WebhookMalformed,
    WebhookSignatureInvalid,
)
from signalhub.config import Environment, Settings

logger = logging.getLogger(__name__)

TOLERANCE_S = 300


@dataclass(frozen=True)
class VerifiedEvent:
    payload: dict[str, Any]
    signed_at: datetime


def verify(body: bytes, signature_header: str | None, settings: Settings) -> VerifiedEvent:
    """The event, once its signature matches one of our secrets and its timestamp is recent.
    Every rejection is logged with its reason; secrets and signatures never are."""
    secrets = [secret.get_secret_value() for secret in settings.stripe_webhook_secret]
    if not secrets:
        raise StripeNotConfigured("Stripe webhooks are not configured.")
    if not signature_header:
        _reject("missing Stripe-Signature header")
        raise WebhookMalformed("The Stripe-Signature header is missing.")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        _reject("body is not UTF-8")
        raise WebhookMalformed("The body is not a Stripe event.") from None

    failures = []
    for secret in secrets:
        try:
            stripe.WebhookSignature.verify_header(text, signature_header, secret, TOLERANCE_S)
        except stripe.SignatureVerificationError as error:
            failures.append(error.user_message or "signature mismatch")
        else:
            break
    else:
        # The SDK says why: a mismatch, a stale timestamp, an unreadable header.
        _reject("; ".join(sorted(set(failures))))
        raise WebhookSignatureInvalid("The Stripe signature does not verify.")

    payload = _parse(text)
    if _refuses_test_events(settings) and payload.get("livemode") is False:
        _reject("test-mode event in production", event_id=payload["id"])
        raise UnacceptedTestEvent("Test-mode Stripe events are not accepted here.")
    return VerifiedEvent(payload, _signed_at(signature_header))


def _parse(text: str) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if (
        not isinstance(payload, dict)
        or payload.get("object") != "event"
        or not isinstance(payload.get("id"), str)
        or not isinstance(payload.get("type"), str)
        or not isinstance(payload.get("data"), dict)
    ):
        _reject("body is not a Stripe event")
        raise WebhookMalformed("The body is not a Stripe event.")
    return payload


def _refuses_test_events(settings: Settings) -> bool:
    return settings.env is Environment.production and not settings.stripe_accept_test_events


def _signed_at(signature_header: str) -> datetime:
    """The header's `t=`; the SDK has already checked that it is there and is a number."""
    parts = (item.partition("=") for item in signature_header.split(","))
    timestamp = next(value for key, _, value in parts if key == "t")
    return datetime.fromtimestamp(int(timestamp), UTC)


def _reject(reason: str, *, event_id: str | None = None) -> None:
    logger.warning("stripe webhook rejected", extra={"reason": reason, "event_id": event_id})
