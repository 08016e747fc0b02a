from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import select

from signalhub.kit.repository import Repository
from signalhub.models import StripeEvent


class StripeEventRepository(Repository):
    async def add_if_new(self, event: StripeEvent) -> bool:
        """False when the event id is already stored. On PostgreSQL a concurrent duplicate waits
        on the unique index until the first transaction ends, then sees the conflict."""
        return await self.insert_ignoring_duplicate(event, "event_id")

    async def known_event_ids(self, event_ids: Iterable[str]) -> set[str]:
        wanted = list(event_ids)
        if not wanted:
            return set()
        result = await self.session.scalars(
            select(StripeEvent.event_id).where(StripeEvent.event_id.in_(wanted))
        )
        return set(result.all())
