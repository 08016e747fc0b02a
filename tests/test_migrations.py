"""Every revision upgrades and downgrades, and head matches the models, on a scratch database."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection, make_url

from signalhub import migrations
from signalhub.db import Database
from signalhub.models import Base


@pytest.fixture
async def scratch_database(database_url: str, tmp_path: Path) -> AsyncIterator[Database]:
    url = make_url(database_url)
    if url.get_backend_name() != "postgresql":
        database = Database.from_url(f"sqlite+aiosqlite:///{tmp_path / 'scratch.db'}")
        yield database
        await database.dispose()
        return
    name = f"{url.database}_migrations"
    admin = Database.from_url(database_url, isolation_level="AUTOCOMMIT")
    async with admin.engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
        await connection.execute(text(f'CREATE DATABASE "{name}"'))
    database = Database.from_url(url.set(database=name).render_as_string(hide_password=False))
    yield database
    await database.dispose()
    async with admin.engine.connect() as connection:
        await connection.execute(text(f'DROP DATABASE IF EXISTS "{name}"'))
    await admin.dispose()


def all_table_names(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names()) - {"alembic_version"}


def table_names(connection: Connection) -> set[str]:
    """The mapped tables, without the full-text index the migration builds beside them."""
    names = all_table_names(connection)
    return {name for name in names if migrations.include_name(name, "table", {})}


def schema_diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"include_name": migrations.include_name})
    return list(compare_metadata(context, Base.metadata))


async def test_upgrade_downgrade_upgrade(scratch_database: Database) -> None:
    await migrations.rebuild(scratch_database)
    async with scratch_database.engine.connect() as connection:
        assert await connection.run_sync(table_names) == set(Base.metadata.tables)
        assert await connection.run_sync(schema_diff) == []

    for revision in ("0007", "0006", "0005", "0004", "0003", "0002", "0001", "base"):
        await migrations.downgrade(scratch_database, revision)
    async with scratch_database.engine.connect() as connection:
        assert await connection.run_sync(all_table_names) == set()

    await migrations.upgrade(scratch_database)
    async with scratch_database.engine.connect() as connection:
        assert await connection.run_sync(table_names) == set(Base.metadata.tables)
