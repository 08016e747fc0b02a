"""The connection pool: no ping per checkout, but a connection that died while idle is replaced
before anyone uses it."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import event, text

from signalhub.db import Database, create_engine

pytestmark = pytest.mark.postgres


async def _backend_pid(database: Database) -> int:
    async with database.engine.connect() as connection:
        return int(await connection.scalar(text("SELECT pg_backend_pid()")))


async def test_a_connection_killed_while_idle_is_replaced(database_url: str) -> None:
    database = Database(create_engine(database_url, pool_size=1, idle_ping_after_s=0.05))
    admin = Database.from_url(database_url, isolation_level="AUTOCOMMIT")
    try:
        first = await _backend_pid(database)
        async with admin.engine.connect() as connection:
            await connection.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": first})
        await asyncio.sleep(0.1)

        second = await _backend_pid(database)
        assert second != first
    finally:
        await database.dispose()
        await admin.dispose()


async def test_a_busy_connection_is_reused_without_a_ping(database_url: str) -> None:
    database = Database(create_engine(database_url, pool_size=1, idle_ping_after_s=60))
    statements: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    event.listen(database.engine.sync_engine, "before_cursor_execute", record)
    try:
        pids = {await _backend_pid(database) for _ in range(5)}
        assert len(pids) == 1
        assert statements == ["SELECT pg_backend_pid()"] * 5
    finally:
        await database.dispose()
