"""Every outgoing Telegram message is a row here, written in the transaction of the change that
caused it; the sender drains the table under Telegram's rate limits."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.kit.time import utcnow
from signalhub.models import OutboxMessage, OutboxStatus, Priority
from signalhub.outbox.repository import OutboxRepository

# One button: {"text": ..., "url": ...} or {"text": ..., "callback_data": ...}; one list per row.
Buttons = list[list[dict[str, str]]]


async def enqueue(
    session: AsyncSession,
    chat_id: int,
    text: str,
    buttons: Buttons | None = None,
    *,
    priority: Priority = Priority.transactional,
    kind: str,
    user_id: int | None = None,
) -> OutboxMessage:
    now = utcnow()
    buttons_json: list[Any] | None = [list(row) for row in buttons] if buttons else None
    return await OutboxRepository(session).add(
        OutboxMessage(
            chat_id=chat_id,
            user_id=user_id,
            kind=kind,
            priority=int(priority),
            text=text,
            buttons=buttons_json,
            status=OutboxStatus.pending,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
    )


async def alert_admins(
    session: AsyncSession, admin_telegram_ids: list[int], text: str, *, kind: str
) -> list[OutboxMessage]:
    """Operational alerts (a dispute, an event that can never succeed) to every listed admin."""
    return [
        await enqueue(session, chat_id, text, priority=Priority.transactional, kind=kind)
        for chat_id in admin_telegram_ids
    ]


@dataclass(frozen=True)
class Backlog:
    priority: Priority
    pending: int
    oldest_age: timedelta


async def backlog(session: AsyncSession, now: datetime) -> list[Backlog]:
    """What waits to be sent, for every priority (zero when nothing waits)."""
    rows = {
        priority: (count, oldest)
        for priority, count, oldest in await OutboxRepository(session).pending_by_priority()
    }
    result = []
    for priority in Priority:
        count, oldest = rows.get(priority, (0, now))
        result.append(Backlog(priority, count, max(now - oldest, timedelta(0))))
    return result
