"""Edits and deadlines in the outbox: an edit waits for its original, a message past its
deadline is never sent, a queued message is rewritten in place."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select, update

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import OutboxMessage, OutboxStatus, Priority
from signalhub.outbox import service as outbox
from tests.fakes.telegram_api import FakeTelegramAPI
from tests.helpers import drain_outbox


async def queue(database: Database, text: str, **fields: object) -> int:
    async with database.transaction() as session:
        message = await outbox.enqueue(
            session,
            4100,
            text,
            priority=Priority.signal,
            kind="test",
            **fields,  # type: ignore[arg-type]
        )
        return message.id


async def status_of(database: Database, message_id: int) -> OutboxStatus:
    async with database.transaction() as session:
        row = await session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id))
        assert row is not None
        return OutboxStatus(row.status)


async def test_replace_rewrites_a_queued_message_and_edits_a_sent_one(
    database: Database, settings: Settings, telegram_api: FakeTelegramAPI
) -> None:
    first = await queue(database, "Offer one")
    async with database.transaction() as session:
        assert (
            await outbox.replace(
                session, first, "Decided one", priority=Priority.signal, kind="edit"
            )
            is None
        )
    await drain_outbox(settings, database)
    assert telegram_api.delivered_texts() == ["Decided one"]

    async with database.transaction() as session:
        edit = await outbox.replace(
            session, first, "Decided again", priority=Priority.signal, kind="edit"
        )
        assert edit is not None
    await drain_outbox(settings, database)
    [call] = telegram_api.of("editMessageText")
    assert call.params["text"] == "Decided again"
    assert await status_of(database, edit.id) == OutboxStatus.sent


async def test_an_edit_waits_while_its_original_is_being_sent_and_is_dropped_if_it_never_was(
    database: Database, settings: Settings, telegram_api: FakeTelegramAPI
) -> None:
    original = await queue(database, "Offer")
    async with database.transaction() as session:
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == original)
            .values(status=OutboxStatus.sending)
        )
        edit = await outbox.replace(
            session, original, "Decided", priority=Priority.signal, kind="edit"
        )
        assert edit is not None
    await drain_outbox(settings, database)
    assert telegram_api.of("editMessageText") == []
    async with database.transaction() as session:
        waiting = await session.get(OutboxMessage, edit.id)
        assert waiting is not None
        assert (waiting.status, waiting.attempts) == (OutboxStatus.pending, 0)
        assert waiting.next_attempt_at > utcnow()

        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == original)
            .values(status=OutboxStatus.interrupted)
        )
        await session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.id == edit.id)
            .values(next_attempt_at=utcnow())
        )
    await drain_outbox(settings, database)
    assert telegram_api.of("editMessageText") == []
    assert await status_of(database, edit.id) == OutboxStatus.dropped


async def test_a_message_past_its_deadline_is_not_sent(
    database: Database, settings: Settings, telegram_api: FakeTelegramAPI
) -> None:
    late = await queue(database, "Too late", expires_at=utcnow() - timedelta(seconds=1))
    await queue(database, "In time", expires_at=utcnow() + timedelta(minutes=5))
    await drain_outbox(settings, database)
    assert telegram_api.delivered_texts() == ["In time"]
    assert await status_of(database, late) == OutboxStatus.pending
