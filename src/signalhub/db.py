"""Engine and session factory. Transaction owners (request dependency, bot middleware, worker job)
open sessions here and commit; services only flush."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError, SQLAlchemyError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from signalhub.errors import AppError
from signalhub.kit.bus import Bus, MemoryBus, build_bus, take_pending

if TYPE_CHECKING:
    from signalhub.config import Settings

# A connection idle for longer than this is pinged before it is handed out. A busy server never
# pays for the ping (pool_pre_ping would add a round trip to every request); one that sat idle
# while PostgreSQL restarted or a proxy dropped the connection gets a fresh one instead of an error.
IDLE_PING_AFTER_S = 30.0


def create_engine(
    url: str,
    *,
    pool_size: int = 20,
    max_overflow: int = 0,
    pool_recycle_s: int = 1800,
    idle_ping_after_s: float = IDLE_PING_AFTER_S,
    **kwargs: Any,
) -> AsyncEngine:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 30}, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        event.listen(engine.sync_engine, "begin", _sqlite_begin)
        return engine
    engine = create_async_engine(
        url,
        pool_size=pool_size,
        max_overflow=max_overflow,
        pool_recycle=pool_recycle_s,
        **kwargs,
    )
    _ping_after_idle(engine, idle_ping_after_s)
    return engine


def _ping_after_idle(engine: AsyncEngine, idle_s: float) -> None:
    pool = engine.sync_engine.pool
    dialect = engine.sync_engine.dialect

    @event.listens_for(pool, "checkin")
    def _checked_in(_dbapi_connection: Any, record: Any) -> None:
        record.info["idle_since"] = time.monotonic()

    @event.listens_for(pool, "checkout")
    def _checked_out(dbapi_connection: Any, record: Any, _proxy: Any) -> None:
        idle_since = record.info.get("idle_since")
        if idle_since is None or time.monotonic() - idle_since < idle_s:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except dialect.loaded_dbapi.Error as error:
            # The pool discards this connection and retries the checkout with a new one.
            raise DisconnectionError("connection lost while idle") from error


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # The sqlite3 module's own transaction handling breaks SAVEPOINT; we emit BEGIN ourselves.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def _sqlite_begin(connection: Any) -> None:
    """IMMEDIATE takes the write lock up front: concurrent writers wait (busy_timeout) instead
    of failing when a read-then-write transaction tries to upgrade its lock."""
    connection.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    def __init__(
        self,
        engine: AsyncEngine,
        sessionmaker: async_sessionmaker[AsyncSession] | None = None,
        bus: Bus | None = None,
    ) -> None:
        self.engine = engine
        self.sessionmaker = sessionmaker or async_sessionmaker(engine, expire_on_commit=False)
        # Live updates queued by the work (kit.bus.publish_after_commit) go out after commit.
        self.bus = bus or MemoryBus()

    @classmethod
    def from_url(cls, url: str, *, bus: Bus | None = None, **kwargs: Any) -> Database:
        return cls(create_engine(url, **kwargs), bus=bus)

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        return cls.from_url(
            settings.database_url,
            pool_size=settings.database_pool_size,
            max_overflow=settings.database_max_overflow,
            pool_recycle_s=settings.database_pool_recycle_s,
            bus=build_bus(settings.redis_url),
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncSession]:
        """The one rule every transaction owner (request, bot update, worker job) follows: commit
        on success, roll back on error, except errors that report an outcome worth keeping."""
        async with self.sessionmaker() as session:
            try:
                yield session
            except AppError as error:
                if error.commit_transaction:
                    await self._commit(session)
                else:
                    await session.rollback()
                raise
            except BaseException:
                await session.rollback()
                raise
            await self._commit(session)

    async def _commit(self, session: AsyncSession) -> None:
        await session.commit()
        await self.bus.publish_many(take_pending(session))

    async def ping(self) -> bool:
        try:
            async with self.sessionmaker() as session:
                await session.execute(text("SELECT 1"))
        except (OSError, SQLAlchemyError):
            return False
        return True

    async def dispose(self) -> None:
        await self.bus.close()
        await self.engine.dispose()
