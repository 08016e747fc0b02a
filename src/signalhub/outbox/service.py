"""Every outgoing Telegram message is a row here, written in the transaction of the change that
caused it; the sender drains the table under Telegram's rate limits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.kit.time import utcnow
from signalhub.models import OutboxMessage, OutboxStatus, Priority
from signalhub.outbox.repository import OutboxRepository

# One button: {"text": ..., "url": ...} or {"text": ..., "callback_data": ...}; one list per row.
Buttons = list[list[dict[str, str]]]


@dataclass(frozen=True)
class Outgoing:
    chat_id: int
    text: str
    kind: str
    priority: Priority = Priority.transactional
    buttons: Buttons | None = None
    user_id: int | None = None
    # "HTML" for Telegram HTML; plain text when None.
    parse_mode: str | None = None
    # Sent as a photo with `text` as its caption.
    photo_url: str | None = None
    # Edits that earlier message of the chat instead of sending a new one.
    edit_message_id: int | None = None


async def enqueue(
    session: AsyncSession,
    chat_id: int,
    text: str,
    buttons: Buttons | None = None,
    *,
    priority: Priority = Priority.transactional,
    kind: str,
    user_id: int | None = None,
    parse_mode: str | None = None,
    edit_message_id: int | None = None,
) -> OutboxMessage:
    outgoing = Outgoing(
        chat_id,
        text,
        kind,
        priority,
        buttons,
        user_id,
        parse_mode=parse_mode,
        edit_message_id=edit_message_id,
    )
    (message,) = await enqueue_many(session, [outgoing])
    return message


async def enqueue_many(session: AsyncSession, messages: Sequence[Outgoing]) -> list[OutboxMessage]:
    """One flush for the lot (a broadcast batch); the rows come back with their ids."""
    now = utcnow()
    rows = [
        OutboxMessage(
            chat_id=message.chat_id,
            user_id=message.user_id,
            kind=message.kind,
            priority=int(message.priority),
            text=message.text,
            parse_mode=message.parse_mode,
            photo_url=message.photo_url,
            edit_message_id=message.edit_message_id,
            buttons=_buttons_json(message.buttons),
            status=OutboxStatus.pending,
            attempts=0,
            next_attempt_at=now,
            created_at=now,
        )
        for message in messages
    ]
    return await OutboxRepository(session).add_all(rows)


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
