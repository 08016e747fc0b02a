from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel

from signalhub.billing.stripe import service, webhook
from signalhub.billing.stripe.service import EventOutcome
from signalhub.dependencies import DatabaseDep, SettingsDep
from signalhub.errors import error_responses
from signalhub.kit.schemas import RAW_JSON_BODY
from signalhub.ops import metrics

router = APIRouter(prefix="/api/v1/stripe", tags=["stripe"])


class WebhookAck(BaseModel):
    received: bool = True
    outcome: EventOutcome


@router.post(
    "/webhook",
    response_model=WebhookAck,
    responses=error_responses(
        400,
        401,
        503,
        described={
            400: "invalid_webhook: not a Stripe event; test_event_refused (production)",
            401: "invalid_signature: Stripe-Signature does not verify or is over 300 s off",
            503: "stripe_not_configured; payment_not_yet_known (Stripe retries)",
        },
    ),
    openapi_extra=RAW_JSON_BODY,
)
async def stripe_webhook(
    request: Request,
    database: DatabaseDep,
    settings: SettingsDep,
    stripe_signature: Annotated[str | None, Header()] = None,
) -> WebhookAck:
    """Stripe's events, verified against the raw body. 200 once the event is stored with its
    effects (or was already); any 5xx makes Stripe deliver it again."""
    event = webhook.verify(await request.body(), stripe_signature, settings)
    outcome = await service.receive(database, event.payload, settings, signed_at=event.signed_at)
    metrics.stripe_events.labels(event.payload["type"], outcome.value).inc()
    return WebhookAck(outcome=outcome)
