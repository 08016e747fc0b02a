"""Counting under concurrency, on PostgreSQL with real commits on separate connections."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import select

from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.knowledge import service
from signalhub.models import KnowledgeArticle, KnowledgeSearchMiss
from tests.factories import create_article, create_user

pytestmark = pytest.mark.postgres


async def test_twenty_concurrent_reads_by_one_reader_count_once_and_by_twenty_readers_twenty(
    committing_database: Database,
) -> None:
    async with committing_database.transaction() as session:
        article = await create_article(session, slug="busy", title="Busy")
        readers = [await create_user(session) for _ in range(20)]

    async def read(reader_id: int) -> None:
        async with committing_database.transaction() as session:
            await service.read(session, "busy", "en", reader_id, utcnow())

    await asyncio.gather(*(read(readers[0].id) for _ in range(20)))
    await asyncio.gather(*(read(reader.id) for reader in readers))
    async with committing_database.transaction() as session:
        count = await session.scalar(
            select(KnowledgeArticle.view_count).where(KnowledgeArticle.id == article.id)
        )
    assert count == 20


async def test_concurrent_searches_without_results_all_add_up(
    committing_database: Database,
) -> None:
    async def search() -> None:
        async with committing_database.transaction() as session:
            await service.search(
                session,
                "withdraw profits",
                language="en",
                category=None,
                page=1,
                page_size=5,
                now=utcnow(),
            )

    await asyncio.gather(*(search() for _ in range(25)))
    async with committing_database.transaction() as session:
        misses = (await session.scalars(select(KnowledgeSearchMiss))).all()
    assert [(miss.query, miss.count) for miss in misses] == [("withdraw profits", 25)]
