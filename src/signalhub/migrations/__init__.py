"""Alembic, driven from code: `signalhub migrate`, the test fixtures and `make run` all build the
schema the same way."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import text
from sqlalchemy.engine import Connection

from signalhub.db import Database
from signalhub.models import Base
from signalhub.models.knowledge_article import (
    SEARCH_INDEX_TABLE,
    SEARCH_VECTOR_COLUMN,
    SEARCH_VECTOR_INDEX,
)

MIGRATIONS_DIR = Path(__file__).parent


def include_name(name: str | None, type_: str, _parent_names: object) -> bool:
    """Schema comparisons skip the full-text index objects, which the migration builds beside
    the mapped tables (FTS5 and its shadow tables, the tsvector column and its GIN index)."""
    if name is None:
        return True
    if type_ == "table":
        return name != SEARCH_INDEX_TABLE and not name.startswith(f"{SEARCH_INDEX_TABLE}_")
    return name not in {SEARCH_VECTOR_COLUMN, SEARCH_VECTOR_INDEX}


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


async def rebuild(database: Database) -> None:
    """Drops everything, then upgrades to head: for throw-away databases (tests, benchmarks)."""
    async with database.engine.begin() as connection:
        if database.dialect == "postgresql":
            await connection.execute(text("DROP SCHEMA public CASCADE"))
            await connection.execute(text("CREATE SCHEMA public"))
        else:
            # Virtual tables first: dropping one drops its shadow tables with it.
            await connection.execute(text(f"DROP TABLE IF EXISTS {SEARCH_INDEX_TABLE}"))
            await connection.run_sync(Base.metadata.drop_all)
            await connection.execute(text("DROP TABLE IF EXISTS alembic_version"))
    await upgrade(database)


async def upgrade(database: Database, revision: str = "head") -> None:
    await _run(database, lambda config: command.upgrade(config, revision))


async def downgrade(database: Database, revision: str) -> None:
    await _run(database, lambda config: command.downgrade(config, revision))


async def _run(database: Database, operation: object) -> None:
    def run_sync(connection: Connection) -> None:
        config = alembic_config()
        config.attributes["connection"] = connection
        operation(config)  # type: ignore[operator]

    async with database.engine.begin() as connection:
        await connection.run_sync(run_sync)
