from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Header, Request
from pydantic import BaseModel

from signalhub.billing.stripe import service, webhook
from signalhub.billing.stripe.service import EventOutcome
from signalhub.dependencies import SessionDep, SettingsDep
from signalhub.ops import metrics

router = APIRouter(prefix="/api/v1/stripe", tags=["stripe"])


class WebhookAck(BaseModel):
    received: bool = True
    outcome: EventOutcome


@router.post("/webhook", response_model=WebhookAck)
async def stripe_webhook(
    request: Request,
    session: SessionDep,
    settings: SettingsDep,
    stripe_signature: Annotated[str | None, Header()] = None,
) -> WebhookAck:
    """Stripe's events, verified against the raw body. 200 once the event is stored with its
    effects (or was already); any 5xx makes Stripe deliver it again."""
    event = webhook.verify(await request.body(), stripe_signature, settings)
    outcome = await service.process_event(
        session, event.payload, settings, signed_at=event.signed_at
    )
    metrics.stripe_events.labels(event.payload["type"], outcome.value).inc()
    return WebhookAck(outcome=outcome)
