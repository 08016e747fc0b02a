from __future__ import annotations

from signalhub.kit.repository import Repository
from signalhub.models import OutboxMessage


class OutboxRepository(Repository):
    async def add(self, message: OutboxMessage) -> OutboxMessage:
        self.session.add(message)
        await self.session.flush()
        return message
