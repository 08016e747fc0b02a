"""Base for every domain repository: the only place SQL is written."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Insert
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def insert_ignoring_conflicts(self, table: Any, index_elements: list[str]) -> Insert:
        """INSERT ... ON CONFLICT DO NOTHING: concurrent duplicates meet the unique index, not an
        exception that would abort a PostgreSQL transaction."""
        if self.dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
        return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)
