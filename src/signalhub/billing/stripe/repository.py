from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update

from signalhub.kit.repository import Repository
from signalhub.models import StripeEvent


class StripeEventRepository(Repository):
    async def insert_if_absent(self, event: StripeEvent) -> bool:
        """False when the event id is already stored. On PostgreSQL a concurrent duplicate waits
        on the unique index until the first transaction ends, then sees the conflict."""
        statement = self.insert_ignoring_conflicts(StripeEvent, ["event_id"]).values(
            event_id=event.event_id,
            event_type=event.event_type,
            livemode=event.livemode,
            payment_method=event.payment_method,
            customer_id=event.customer_id,
            amount_cents=event.amount_cents,
            currency=event.currency,
            status=event.status,
            idempotency_key=event.idempotency_key,
            webhook_timestamp=event.webhook_timestamp,
            received_at=event.received_at,
            created_at=event.received_at,
            payload=event.payload,
        )
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def finish(
        self, event_id: str, status: str, error_message: str | None, processed_at: datetime
    ) -> None:
        await self.session.execute(
            update(StripeEvent)
            .where(StripeEvent.event_id == event_id)
            .values(status=status, error_message=error_message, processed_at=processed_at)
        )

    async def known_event_ids(self, event_ids: Iterable[str]) -> set[str]:
        wanted = list(event_ids)
        if not wanted:
            return set()
        result = await self.session.scalars(
            select(StripeEvent.event_id).where(StripeEvent.event_id.in_(wanted))
        )
        return set(result.all())
