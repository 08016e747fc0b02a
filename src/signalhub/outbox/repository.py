from __future__ import annotations

import functools
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

from sqlalchemy import (
    Insert,
    Row,
    Select,
    Table,
    bindparam,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.ext.asyncio import AsyncConnection

from signalhub.kit.repository import Repository
from signalhub.models import OutboxMessage, OutboxStatus, User


@dataclass(frozen=True, slots=True)
class ClaimedMessage:
    """What the sender needs of a claimed row: plain values, not a tracked ORM object (the
    sender handles hundreds a second)."""

    id: int
    chat_id: int
    priority: int
    text: str
    parse_mode: str | None
    photo_url: str | None
    buttons: list[Any] | None
    attempts: int
    edit_of_id: int | None


@dataclass(frozen=True, slots=True)
class Delivered:
    """A message Telegram accepted, waiting to be recorded as sent."""

    message_id: int
    telegram_message_id: int
    sent_at: datetime


_CLAIMED_COLUMNS = [getattr(OutboxMessage, field) for field in ClaimedMessage.__dataclass_fields__]
_OUTBOX = cast(Table, OutboxMessage.__table__)


@functools.cache
def _unnested_insert(keys: tuple[str, ...]) -> Insert:
    """Built once per set of columns (a fan-out's rows all set the same ones): one array
    parameter per column, named after it."""
    source = (
        func.unnest(
            *(
                # One value per row, even a list (a JSON column's buttons).
                bindparam(key, type_=ARRAY(_OUTBOX.c[key].type, dimensions=1))
                for key in keys
            )
        )
        .table_valued(*keys, with_ordinality="ordinal")
        .render_derived()
    )
    return (
        insert(_OUTBOX)
        .from_select(keys, select(*(source.c[key] for key in keys)).order_by(source.c.ordinal))
        .returning(_OUTBOX.c.id)
    )


class OutboxRepository(Repository):
    async def add(self, message: OutboxMessage) -> OutboxMessage:
        self.session.add(message)
        await self.session.flush()
        return message

    async def add_many(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """One INSERT for a batch (a signal's or a broadcast's fan-out); the ids come back in
        the rows' order. Every row has the same keys."""
        if not rows:
            return []
        if self.dialect == "postgresql":
            return await self._add_many_unnested(rows)
        result = await self.session.execute(
            insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True),
            list(rows),
        )
        return list(result.scalars())

    async def _add_many_unnested(self, rows: Sequence[dict[str, Any]]) -> list[int]:
        """INSERT ... SELECT FROM unnest(one array per column): the same statement for any
        number of rows, where a multi-row VALUES is a new (and long) prepared statement for
        each batch size. The rows are inserted in their order (ORDER BY ordinal), so the
        sequence hands out their ids in that order: sorted, the returned ids are the rows'
        (SQLAlchemy's sort_by_parameter_order relies on the same on PostgreSQL)."""
        keys = tuple(rows[0])
        result = await self.session.execute(
            _unnested_insert(keys), {key: [row[key] for row in rows] for key in keys}
        )
        return sorted(result.scalars())

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
    ) -> list[tuple[ClaimedMessage, bool]]:
        """Locks due rows, most urgent first, each with whether its chat is a banned user's;
        another sender skips them instead of waiting. Only the outbox rows are locked, never
        the users. SQLite has no row locks: its BEGIN IMMEDIATE serialises claimers instead."""
        statement = (
            select(*_CLAIMED_COLUMNS, User.banned_at.is_not(None))
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
        if cooling_chats or self.dialect == "postgresql":
            # One statement on PostgreSQL however many chats cool (none included).
            statement = statement.where(self.not_in_values(OutboxMessage.chat_id, cooling_chats))
        result = await self.session.execute(statement)
        return [(ClaimedMessage(*row[:-1]), bool(row[-1])) for row in result]

    async def drop(self, ids: Collection[int], reason: str) -> None:
        await self.session.execute(
            update(OutboxMessage)
            .where(self.in_values(OutboxMessage.id, ids))
            .values(status=OutboxStatus.dropped, last_error=reason)
            .execution_options(synchronize_session=False)
        )

    async def mark_sending(self, ids: Collection[int], now: datetime) -> None:
        """The claimed messages keep the values they were read with (attempts before this one)."""
        await self.session.execute(
            update(OutboxMessage)
            .where(self.in_values(OutboxMessage.id, ids))
            .values(
                status=OutboxStatus.sending,
                claimed_at=now,
                attempts=OutboxMessage.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )

    async def mark_sent(self, delivered: Sequence[Delivered]) -> None:
        """One statement for many rows (executemany: one round trip on asyncpg)."""
        if not delivered:
            return
        await self.session.execute(
            update(_OUTBOX)
            .where(_OUTBOX.c.id == bindparam("message_id"))
            .values(
                status=OutboxStatus.sent,
                sent_at=bindparam("sent_at"),
                telegram_message_id=bindparam("telegram_message_id"),
            ),
            [
                {
                    "message_id": row.message_id,
                    "sent_at": row.sent_at,
                    "telegram_message_id": row.telegram_message_id,
                }
                for row in delivered
            ],
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

    async def give_back(self, message_ids: Collection[int], next_attempt_at: datetime) -> None:
        """Telegram refused to take the messages (flood control), or a stopping sender never
        sent them: they go back to the queue without spending an attempt."""
        await self.session.execute(
            update(OutboxMessage)
            .where(self.in_values(OutboxMessage.id, message_ids))
            .values(
                status=OutboxStatus.pending,
                claimed_at=None,
                next_attempt_at=next_attempt_at,
                attempts=OutboxMessage.attempts - 1,
            )
            .execution_options(synchronize_session=False)
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
                .where(self.in_values(OutboxMessage.id, ids))
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
