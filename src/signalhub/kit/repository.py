"""Base for every domain repository: the only place SQL is written."""

from __future__ import annotations

from typing import TypeVar

from sqlalchemy import inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

RowT = TypeVar("RowT", bound=DeclarativeBase)


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    async def insert_if_absent(self, row: RowT, *unique_columns: str) -> RowT | None:
        """INSERT ... ON CONFLICT DO NOTHING RETURNING: the stored row, or None when the unique
        index on `unique_columns` already holds one. Concurrent duplicates meet the index, not an
        exception that would abort a PostgreSQL transaction, and a new row needs no read-back.
        Attributes left unset take their column defaults."""
        values = {
            attribute.key: value
            for attribute in inspect(type(row)).column_attrs
            if (value := getattr(row, attribute.key)) is not None
        }
        dialect = postgresql if self.dialect == "postgresql" else sqlite
        statement = (
            dialect.insert(type(row))
            .values(values)
            .on_conflict_do_nothing(index_elements=list(unique_columns))
            .returning(type(row))
            .execution_options(populate_existing=True)
        )
        return (await self.session.scalars(statement)).first()
