"""Stripe's failures as domain errors: callers see our codes, never the SDK's exceptions."""

from __future__ import annotations

from signalhub.errors import AppError


class StripeNotConfigured(AppError):
    status_code = 503
    code = "stripe_not_configured"


class WebhookMalformed(AppError):
    status_code = 400
    code = "invalid_webhook"


class WebhookSignatureInvalid(AppError):
    status_code = 401
    code = "invalid_signature"


class UnacceptedTestEvent(AppError):
    status_code = 400
    code = "test_event_refused"


class PaymentNotYetKnown(AppError):
    """A dispute for a charge we have not seen: answering 503 makes Stripe deliver it again
    after the charge's own event has arrived."""

    status_code = 503
    code = "payment_not_yet_known"


class StripeUnavailable(AppError):
    """Connection failures, rate limits and Stripe's 5xx: worth trying again later."""

    status_code = 503
    code = "stripe_unavailable"
    retryable = True


class StripeRequestRejected(AppError):
    """Stripe refused the request itself (4xx): trying again will not help."""

    status_code = 502
    code = "stripe_request_rejected"
    retryable = False

    def __init__(
        self, message: str, *, stripe_code: str | None = None, stripe_status: int | None = None
    ) -> None:
        super().__init__(message)
        self.stripe_code = stripe_code
        self.stripe_status = stripe_status
