"""The sender's and the fan-out's statements keep one text however many rows or chats they name
(PostgreSQL).

asyncpg prepares each distinct statement text once per connection, and SQLAlchemy keeps the last
100 prepared statements of every pooled connection. An expanding IN, NOT IN or multi-row VALUES
is a new text for each length: the worker kept preparing new ones throughout a broadcast, and its
memory grew with them (bench/broadcasts.py) until every connection's cache was full."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Awaitable
from typing import TypeVar

import pytest
from sqlalchemy import select

from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import OutboxMessage, OutboxStatus, Priority
from signalhub.outbox import service as outbox
from signalhub.outbox.repository import OutboxRepository
from tests.helpers import statements_on

pytestmark = pytest.mark.postgres

T = TypeVar("T")
FIRST_CHAT = 7_000_000


class Statements:
    """The outbox statements each named call sent (savepoints left out)."""

    def __init__(self, database: Database) -> None:
        self.database = database
        self.texts: defaultdict[str, set[str]] = defaultdict(set)

    async def of(self, name: str, call: Awaitable[T]) -> T:
        with statements_on(self.database.engine) as statements:
            result = await call
        self.texts[name].update(text for text in statements if "outbox" in text)
        return result


def message(index: int) -> outbox.NewMessage:
    return outbox.NewMessage(
        chat_id=FIRST_CHAT + index,
        text=f"message {index}",
        buttons=[[{"text": "Open", "url": f"https://example.com/{index}"}]] if index % 2 else None,
        user_id=None,
        parse_mode="HTML",
    )


async def test_a_batch_of_any_size_is_one_insert_and_its_ids_are_in_the_rows_order(
    database: Database,
) -> None:
    statements = Statements(database)
    queued: dict[int, int] = {}
    async with database.transaction() as session:
        for start, size in ((0, 1), (1, 2), (3, 7), (10, 30)):
            batch = [message(index) for index in range(start, start + size)]
            ids = await statements.of(
                "enqueue_many",
                outbox.enqueue_many(session, batch, priority=Priority.marketing, kind="test"),
            )
            queued.update(zip(ids, range(start, start + size), strict=True))
        rows = (
            await session.execute(
                select(
                    OutboxMessage.id,
                    OutboxMessage.chat_id,
                    OutboxMessage.text,
                    OutboxMessage.buttons,
                    OutboxMessage.parse_mode,
                    OutboxMessage.status,
                ).where(OutboxMessage.id.in_(list(queued)))
            )
        ).all()

    assert len(statements.texts["enqueue_many"]) == 1
    assert len(rows) == 40
    for row in rows:
        expected = message(queued[row.id])
        assert (row.chat_id, row.text, row.buttons, row.parse_mode, row.status) == (
            expected.chat_id,
            expected.text,
            expected.buttons,
            "HTML",
            OutboxStatus.pending,
        )


async def test_claiming_and_marking_are_one_statement_each_however_many_chats_cool(
    database: Database,
) -> None:
    async with database.transaction() as session:
        await outbox.enqueue_many(
            session,
            [message(index) for index in range(10)],
            priority=Priority.marketing,
            kind="test",
        )
    chats = {FIRST_CHAT + index for index in range(10)}
    statements = Statements(database)
    async with database.transaction() as session:
        repository = OutboxRepository(session)
        for cooling_count in (0, 1, 3, 8):
            cooling = {FIRST_CHAT + index for index in range(cooling_count)}
            claimed = await statements.of("claim_due", repository.claim_due(utcnow(), 100, cooling))
            assert {row.chat_id for row, _ in claimed} == chats - cooling
            ids = [row.id for row, _ in claimed]
            await statements.of("mark_sending", repository.mark_sending(ids, utcnow()))
            await statements.of("give_back", repository.give_back(ids, utcnow()))
        ids = [row.id for row, _ in await repository.claim_due(utcnow(), 100, ())]
        await statements.of("drop", repository.drop(ids[:1], "test"))
        await statements.of("drop", repository.drop(ids[1:4], "test"))
        assert len(await repository.claim_due(utcnow(), 100, ())) == 6

    assert set(statements.texts) == {"claim_due", "mark_sending", "give_back", "drop"}
    assert {name: len(texts) for name, texts in statements.texts.items()} == {
        "claim_due": 1,
        "mark_sending": 1,
        "give_back": 1,
        "drop": 1,
    }
