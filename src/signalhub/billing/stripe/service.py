"""Processing one verified Stripe event, exactly once, whoever delivers it: the webhook, a
duplicate on another instance, or `signalhub stripe reconcile`.

The event row and every effect of the event commit in one transaction (after dj-stripe's
Event.process): the row is inserted first with ON CONFLICT DO NOTHING, so a duplicate changes
nothing, and any unexpected error rolls the row back with the effects, so Stripe's retry finds
nothing stored and tries again. An event that can never be applied is stored as failed in a
transaction of its own, after the first one rolled back (no savepoint on the common path)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Protocol

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.settlement import CannotSettle
from signalhub.billing.stripe.handlers import HANDLERS, EventContext
from signalhub.billing.stripe.repository import StripeEventRepository
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.errors import AppError
from signalhub.kit.text import is_storable
from signalhub.kit.time import utcnow
from signalhub.models import StripeEvent, StripeEventStatus
from signalhub.outbox import service as outbox

logger = logging.getLogger(__name__)


class EventOutcome(StrEnum):
    processed = "processed"
    failed = "failed"
    duplicate = "duplicate"


async def receive(
    database: Database,
    payload: dict[str, Any],
    settings: Settings,
    *,
    signed_at: datetime | None,
    now: datetime | None = None,
) -> EventOutcome:
    """Stores a verified event with its effects in one transaction, which this function owns.
    An event that can never be applied (CannotSettle) rolls back whole, so none of its partial
    effects stay, and is stored as failed in a second transaction, the admins alerted once
    however often Stripe delivers it. Any other error rolls back and propagates: nothing is
    stored, and Stripe's retry finds the event new."""
    now = now or utcnow()
    try:
        async with database.transaction() as session:
            return await process_event(session, payload, settings, signed_at=signed_at, now=now)
    except CannotSettle as failure:
        async with database.transaction() as session:
            return await _store_failed(session, payload, settings, signed_at, now, failure.reason)


async def process_event(
    session: AsyncSession,
    payload: dict[str, Any],
    settings: Settings,
    *,
    signed_at: datetime | None,
    now: datetime | None = None,
) -> EventOutcome:
    """The event row and the event's effects, in the caller's transaction; raises CannotSettle
    for an event that can never be applied, which the caller must roll back (`receive`)."""
    now = now or utcnow()
    event_id: str = payload["id"]
    event_type: str = payload["type"]
    # Stored as it ends when it is applied: it commits with its effects or not at all.
    event = _event_row(payload, signed_at, now, StripeEventStatus.processed)
    if not await StripeEventRepository(session).add_if_new(event):
        # Routine outcomes are DEBUG: the access line logs every delivery, the audit log every
        # payment; INFO would add two lines per event to the hot path.
        logger.debug("stripe event already handled", extra={"event_id": event_id})
        return EventOutcome.duplicate
    handler = HANDLERS.get(event_type)
    if handler is not None:
        await handler(EventContext(session, settings, event_id, now), payload["data"].get("object"))
    logger.debug(
        "stripe event handled",
        extra={"event_id": event_id, "event_type": event_type, "outcome": "processed"},
    )
    return EventOutcome.processed


async def _store_failed(
    session: AsyncSession,
    payload: dict[str, Any],
    settings: Settings,
    signed_at: datetime | None,
    now: datetime,
    reason: str,
) -> EventOutcome:
    event_id: str = payload["id"]
    event_type: str = payload["type"]
    event = _event_row(payload, signed_at, now, StripeEventStatus.failed)
    event.error_message = reason
    if not await StripeEventRepository(session).add_if_new(event):
        # Another delivery of it failed first and said so.
        return EventOutcome.duplicate
    logger.warning(
        "stripe event failed",
        extra={"event_id": event_id, "event_type": event_type, "reason": reason},
    )
    await outbox.alert_admins(
        session,
        settings.admin_telegram_ids,
        f"Stripe event {event_id} ({event_type}) cannot be processed: {reason}.",
        kind="admin_alert",
    )
    return EventOutcome.failed


def _event_row(
    payload: dict[str, Any], signed_at: datetime | None, now: datetime, status: StripeEventStatus
) -> StripeEvent:
    """The event's summary columns, each kept only when it fits its column: the payload is
    stored whole anyway, and a summary must never be why a signed event cannot be stored."""
    data = payload["data"].get("object")
    obj: dict[str, Any] = data if isinstance(data, dict) else {}
    request = payload.get("request")
    amount = obj.get("amount", obj.get("amount_total"))
    currency = _text(obj.get("currency"), 3)
    return StripeEvent(
        event_id=payload["id"],
        event_type=payload["type"],
        livemode=payload.get("livemode") is True,
        payment_method=_payment_method(obj),
        customer_id=_text(obj.get("customer"), 255),
        amount_minor=amount if _fits_integer_column(amount) else None,
        currency=currency.upper() if currency else None,
        status=status,
        processed_at=now,
        # Older API versions send the request as a bare id, without its idempotency key.
        idempotency_key=(
            _text(request.get("idempotency_key"), 255) if isinstance(request, dict) else None
        ),
        webhook_timestamp=signed_at,
        received_at=now,
        payload=payload,
    )


def _text(value: object, max_length: int) -> str | None:
    if isinstance(value, str) and 0 < len(value) <= max_length and is_storable(value):
        return value
    return None


def _fits_integer_column(value: object) -> bool:
    return type(value) is int and -(2**31) <= value <= 2**31 - 1


def _payment_method(obj: dict[str, Any]) -> str | None:
    details = obj.get("payment_method_details")
    if isinstance(details, dict):
        return _text(details.get("type"), 64)
    types = obj.get("payment_method_types")
    if isinstance(types, list) and types:
        return _text(types[0], 64)
    return None


class EventSource(Protocol):
    def list_events(self, created_gte: datetime) -> AsyncIterator[dict[str, Any]]: ...


@dataclass(frozen=True)
class ReconcileReport:
    found: int
    new: int
    processed: int
    failed: int
    postponed: int

    def summary(self) -> str:
        text = (
            f"found {self.found} events, {self.new} new: "
            f"processed {self.processed}, failed {self.failed}"
        )
        return text + (f", postponed {self.postponed}" if self.postponed else "")


async def reconcile(
    database: Database, settings: Settings, source: EventSource, since: datetime
) -> ReconcileReport:
    """Processes the events Stripe has that we never received, one transaction each, through
    the webhook's own path: an event arriving meanwhile by webhook is still handled once."""
    events = [event async for event in source.list_events(since)]
    async with database.transaction() as session:
        known = await StripeEventRepository(session).known_event_ids(e["id"] for e in events)
    missing = [event for event in events if event["id"] not in known]
    counts = {outcome: 0 for outcome in EventOutcome}
    postponed = 0
    # Stripe lists the newest first; replaying oldest first keeps the logs in Stripe's order.
    for event in sorted(missing, key=lambda item: int(item.get("created", 0))):
        try:
            outcome = await receive(database, event, settings, signed_at=None)
        except AppError as error:
            postponed += 1
            logger.warning(
                "stripe event postponed",
                extra={"event_id": event["id"], "code": error.code, "reason": error.message},
            )
        else:
            counts[outcome] += 1
    return ReconcileReport(
        found=len(events),
        new=len(missing),
        processed=counts[EventOutcome.processed],
        failed=counts[EventOutcome.failed],
        postponed=postponed,
    )
