"""Every outgoing Telegram message is a row here, written in the transaction of the change that
caused it; the sender drains the table under Telegram's rate limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Select
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
    expires_at: datetime | None = None,
    edit_of_id: int | None = None,
) -> OutboxMessage:
    now = utcnow()
    return await OutboxRepository(session).add(
        OutboxMessage(
            chat_id=chat_id,
            user_id=user_id,
            kind=kind,
            priority=int(priority),
            text=text,
            buttons=_buttons_json(buttons),
            status=OutboxStatus.pending,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
            expires_at=expires_at,
            edit_of_id=edit_of_id,
        )
    )


@dataclass(frozen=True)
class NewMessage:
    chat_id: int
    text: str
    buttons: Buttons | None
    user_id: int | None
    # "HTML" for Telegram HTML (broadcast templates); plain text when None.
    parse_mode: str | None = None
    # Sent as a photo with `text` as its caption.
    photo_url: str | None = None


async def enqueue_many(
    session: AsyncSession,
    messages: Sequence[NewMessage],
    *,
    priority: Priority,
    kind: str,
    expires_at: datetime | None = None,
) -> list[int]:
    """A batch in one statement; the new rows' ids in the order of `messages`."""
    now = utcnow()
    return await OutboxRepository(session).add_many(
        [
            {
                "chat_id": message.chat_id,
                "user_id": message.user_id,
                "kind": kind,
                "priority": int(priority),
                "text": message.text,
                "buttons": _buttons_json(message.buttons),
                "parse_mode": message.parse_mode,
                "photo_url": message.photo_url,
                "status": OutboxStatus.pending,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
                "expires_at": expires_at,
            }
            for message in messages
        ]
    )


async def replace(
    session: AsyncSession, message_id: int, text: str, *, priority: Priority, kind: str
) -> OutboxMessage | None:
    """Makes the chat show `text` (without buttons) instead of message `message_id`: still
    queued, the message itself is rewritten; already sent (or being sent), an edit is queued,
    which the sender applies once the original has its Telegram message id."""
    repository = OutboxRepository(session)
    if await repository.rewrite_pending(message_id, text, None):
        return None
    original = await repository.get(message_id)
    if original is None:
        return None
    return await enqueue(
        session,
        original.chat_id,
        text,
        priority=priority,
        kind=kind,
        user_id=original.user_id,
        edit_of_id=original.id,
    )


async def drop_pending(session: AsyncSession, ids: Select[Any], reason: str) -> int:
    """Unsent messages among `ids` are never sent (the offer they carry has ended)."""
    return await OutboxRepository(session).drop_pending(ids, reason)


async def drop_pending_for_chat(session: AsyncSession, chat_id: int, reason: str) -> int:
    """Nothing still queued for this chat is sent."""
    return await OutboxRepository(session).drop_pending_for_chat(chat_id, reason)


def _buttons_json(buttons: Buttons | None) -> list[Any] | None:
    return [list(row) for row in buttons] if buttons else None


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
