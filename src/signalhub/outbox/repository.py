from __future__ import annotations

from collections.abc import Collection, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, func, insert, or_, select, text, update
from sqlalchemy.ext.asyncio import AsyncConnection

from signalhub.kit.repository import Repository
from signalhub.models import OutboxMessage, OutboxStatus, User


class OutboxRepository(Repository):
    async def add(self, message: OutboxMessage) -> OutboxMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """One INSERT for a batch (a signal's fan-out); the ids come back in the rows' order."""
        if not rows:
            return []
        result = await self.session.execute(
            insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True),
            list(rows),
        )
        return list(result.scalars())

    async def get(self, message_id: int) -> OutboxMessage | None:
        return await self.session.get(OutboxMessage, message_id)

    async def rewrite_pending(self, message_id: int, text: str, buttons: list[Any] | None) -> bool:
        """Changes a message nobody has claimed yet; False once a sender has it (the
        status check and the write are one statement, so a concurrent claim cannot slip in)."""
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id, OutboxMessage.status == OutboxStatus.pending)
            .values(text=text, buttons=buttons)
            .execution_options(synchronize_session=False)
        )
        return bool(getattr(result, "rowcount", 0))

    async def drop_pending(self, ids: Select[Any], reason: str) -> int:
        result = await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.status == OutboxStatus.pending, OutboxMessage.id.in_(ids))
            .values(status=OutboxStatus.dropped, last_error=reason)
            .execution_options(synchronize_session=False)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def claim_due(
        self, now: datetime, limit: int, cooling_chats: Collection[int]
    ) -> list[tuple[OutboxMessage, bool]]:
        """Locks due rows, most urgent first, each with whether its chat is a banned user's;
        another sender skips them instead of waiting. Only the outbox rows are locked, never
        the users. SQLite has no row locks: its BEGIN IMMEDIATE serialises claimers instead."""
        statement = (
            select(OutboxMessage, User.banned_at.is_not(None))
            .outerjoin(User, User.telegram_id == OutboxMessage.chat_id)
            .where(
                OutboxMessage.status == OutboxStatus.pending,
                OutboxMessage.next_attempt_at <= now,
                or_(OutboxMessage.expires_at.is_(None), OutboxMessage.expires_at > now),
            )
            .order_by(OutboxMessage.priority, OutboxMessage.id)
            .limit(limit)
            .with_for_update(skip_locked=True, of=OutboxMessage)
        )
        if cooling_chats:
            statement = statement.where(OutboxMessage.chat_id.not_in(list(cooling_chats)))
        result = await self.session.execute(statement)
        return [(message, bool(banned)) for message, banned in result]

    async def drop(self, ids: Collection[int], reason: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(ids)))
            .values(status=OutboxStatus.dropped, last_error=reason)
            .execution_options(synchronize_session=False)
        )

    async def mark_sending(self, ids: Collection[int], now: datetime) -> None:
        """The claimed objects keep the values they were read with (attempts before this one)."""
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id.in_(list(ids)))
            .values(
                status=OutboxStatus.sending,
                claimed_at=now,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )

    async def mark_sent(self, message_id: int, telegram_message_id: int, now: datetime) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status=OutboxStatus.sent, sent_at=now, telegram_message_id=telegram_message_id)
        )

    async def reschedule(self, message_id: int, next_attempt_at: datetime, error: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                status=OutboxStatus.pending,
                claimed_at=None,
                next_attempt_at=next_attempt_at,
                last_error=error,
            )
        )

    async def give_back(self, message_id: int, next_attempt_at: datetime) -> None:
        """Telegram refused to take the message (flood control): it was never delivered, so it
        goes back to the queue without spending an attempt."""
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(
                status=OutboxStatus.pending,
                claimed_at=None,
                next_attempt_at=next_attempt_at,
                attempts=OutboxMessage.attempts - 1,
            )
        )

    async def finish(self, message_id: int, status: OutboxStatus, error: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == message_id)
            .values(status=status, last_error=error)
        )

    async def drop_pending_for_chat(self, chat_id: int, reason: str) -> int:
        result = await self.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.chat_id == chat_id,
                OutboxMessage.status == OutboxStatus.pending,
            )
            .values(status=OutboxStatus.dropped, last_error=reason)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def pending_by_priority(self) -> Sequence[Row[int, int, datetime]]:
        """(priority, messages waiting, oldest created_at) for each priority that has any."""
        result = await self.session.execute(
            select(
                OutboxMessage.priority,
                func.count(),
                func.min(OutboxMessage.created_at),
            )
            .where(OutboxMessage.status == OutboxStatus.pending)
            .group_by(OutboxMessage.priority)
        )
        return result.all()

    async def interrupt_sending(self, reason: str) -> list[int]:
        """Rows a dead sender left mid-send: Telegram may or may not have them, so they are
        never sent again (at most once)."""
        ids = list(
            await self.session.scalars(
                select(OutboxMessage.id)
                .where(OutboxMessage.status == OutboxStatus.sending)
                .with_for_update()
            )
        )
        if ids:
            await self.session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(ids))
                .values(status=OutboxStatus.interrupted, last_error=reason)
            )
        return ids


async def try_advisory_lock(connection: AsyncConnection, key: int) -> bool:
    """Session-level lock: held as long as `connection` stays open, released if it dies."""
    return bool(await connection.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": key}))


async def advisory_unlock(connection: AsyncConnection, key: int) -> None:
    await connection.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": key})


async def ping(connection: AsyncConnection) -> None:
    await connection.execute(text("SELECT 1"))
