"""Verifying what arrives at the webhook: Stripe's signature over the raw body, with every
configured secret (rotation lists the new and the old one), and the event's mode."""

from __future__ import annotations

import json
import logging
import time
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
from signalhub.kit.text import is_storable

logger = logging.getLogger(__name__)

TOLERANCE_S = 300


@dataclass(frozen=True)
class VerifiedEvent:
    payload: dict[str, Any]
    signed_at: datetime


def verify(body: bytes, signature_header: str | None, settings: Settings) -> VerifiedEvent:
    """The event, once its signature matches one of our secrets and its timestamp is within
    300 s of now, either way.
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

    # The SDK bounds only the past; a timestamp far ahead would keep a captured body
    # replayable for as long as it is ahead.
    timestamp = _timestamp(signature_header)
    if timestamp - time.time() > TOLERANCE_S:
        _reject("timestamp too far in the future")
        raise WebhookSignatureInvalid("The Stripe signature does not verify.")

    payload = _parse(text)
    if _refuses_test_events(settings) and payload.get("livemode") is False:
        _reject("test-mode event in production", event_id=payload["id"])
        raise UnacceptedTestEvent("Test-mode Stripe events are not accepted here.")
    return VerifiedEvent(payload, datetime.fromtimestamp(timestamp, UTC))


def _parse(text: str) -> dict[str, Any]:
    try:
        payload = json.loads(text)
    except ValueError:
        payload = None
    if (
        not isinstance(payload, dict)
        or payload.get("object") != "event"
        or not _is_text(payload.get("id"), 255)
        or not _is_text(payload.get("type"), 128)
        or not isinstance(payload.get("data"), dict)
    ):
        _reject("body is not a Stripe event")
        raise WebhookMalformed("The body is not a Stripe event.")
    return payload


def _is_text(value: object, max_length: int) -> bool:
    return isinstance(value, str) and 0 < len(value) <= max_length and is_storable(value)


def _refuses_test_events(settings: Settings) -> bool:
    return settings.env is Environment.production and not settings.stripe_accept_test_events


def _timestamp(signature_header: str) -> int:
    """The header's `t=`; the SDK has already checked that it is there and is a number."""
    parts = (item.partition("=") for item in signature_header.split(","))
    return int(next(value for key, _, value in parts if key == "t"))


def _reject(reason: str, *, event_id: str | None = None) -> None:
    logger.warning("stripe webhook rejected", extra={"reason": reason, "event_id": event_id})
