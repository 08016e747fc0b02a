"""Base for every domain repository: the only place SQL is written."""

from __future__ import annotations

import functools
from collections.abc import Iterable
from typing import Any, TypeVar

from sqlalchemy import BindParameter, ColumnElement, Insert, all_, any_, bindparam, inspect
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase, InstrumentedAttribute

RowT = TypeVar("RowT", bound=DeclarativeBase)
ValueT = TypeVar("ValueT")
# A mapped attribute (User.id) or a Core column.
ColumnLike = InstrumentedAttribute[ValueT] | ColumnElement[ValueT]


class Repository:
    def __init__(self, session: AsyncSession) -> None:
        self.session = session

    @property
    def dialect(self) -> str:
        return self.session.get_bind().dialect.name

    def in_values(
        self, column: ColumnLike[ValueT], values: Iterable[ValueT]
    ) -> ColumnElement[bool]:
        """`column IN values`, for a list whose length varies from call to call. On PostgreSQL
        one array parameter (`= ANY($1)`): the statement's text is the same however many values
        there are, so asyncpg prepares it once per connection. An expanding IN is a new
        statement for every length, and each pooled connection keeps the last
        prepared_statement_cache_size (100) of them, with their parameter descriptions."""
        if self.dialect == "postgresql":
            return column == any_(_array(column, values))
        return column.in_(list(values))

    def not_in_values(
        self, column: ColumnLike[ValueT], values: Iterable[ValueT]
    ) -> ColumnElement[bool]:
        """`column NOT IN values` (`!= ALL($1)` on PostgreSQL, see `in_values`); an empty list
        excludes nothing."""
        if self.dialect == "postgresql":
            return column != all_(_array(column, values))
        return column.not_in(list(values))

    def insert_ignoring_conflicts(self, table: Any, index_elements: list[str]) -> Insert:
        """INSERT ... ON CONFLICT DO NOTHING: concurrent duplicates meet the unique index, not an
        exception that would abort a PostgreSQL transaction. For bulk inserts; one row goes
        through `insert_if_absent`."""
        return _insert_ignoring_conflicts(table, index_elements, self.dialect)

    def insert_updating_conflicts(
        self,
        table: Any,
        index_elements: list[str],
        set_: dict[str, Any],
        where: ColumnElement[bool],
    ) -> Insert:
        """INSERT ... ON CONFLICT DO UPDATE SET ... WHERE: a row that meets the unique index is
        updated only when `where` holds of it, else left alone (and not RETURNed). On
        PostgreSQL `where` is checked on the row's latest version under its row lock, so of two
        concurrent writers only the first whose `where` holds updates it."""
        if self.dialect == "postgresql":
            return postgresql.insert(table).on_conflict_do_update(
                index_elements=index_elements, set_=set_, where=where
            )
        return sqlite.insert(table).on_conflict_do_update(
            index_elements=index_elements, set_=set_, where=where
        )

    async def insert_ignoring_duplicate(self, row: DeclarativeBase, *unique_columns: str) -> bool:
        """`insert_if_absent` for a caller that needs only whether the row went in: a Core
        INSERT ... ON CONFLICT DO NOTHING RETURNING its key, nothing read back into the session
        (the ORM's RETURNING of a whole row costs more than the insert, a JSON column twice)."""
        values = _set_columns(row)
        statement = _single_insert(type(row), tuple(values), unique_columns, False, self.dialect)
        return (await self.session.execute(statement, values)).first() is not None

    async def insert_if_absent(self, row: RowT, *unique_columns: str) -> RowT | None:
        """One row, INSERT ... ON CONFLICT DO NOTHING RETURNING: the stored row, or None when the
        unique index on `unique_columns` already holds one; a new row needs no read-back.
        Attributes left unset take their column defaults."""
        values = _set_columns(row)
        statement = _single_insert(type(row), tuple(values), unique_columns, True, self.dialect)
        return (await self.session.scalars(statement, values)).first()


def _insert_ignoring_conflicts(table: Any, index_elements: list[str], dialect: str) -> Insert:
    if dialect == "postgresql":
        return postgresql.insert(table).on_conflict_do_nothing(index_elements=index_elements)
    return sqlite.insert(table).on_conflict_do_nothing(index_elements=index_elements)


@functools.cache
def _single_insert(
    model: type[Any],
    columns: tuple[str, ...],
    unique_columns: tuple[str, ...],
    entity: bool,
    dialect: str,
) -> Insert:
    """The INSERT for rows of `model` that set `columns`, built once per shape (a few dozen in
    all) with a bound parameter per column: building it, its VALUES clause above all, for every
    row was a sixth of a Stripe webhook's CPU. `entity`: RETURNING the mapped row, else its key."""
    mapper = inspect(model)
    statement = _insert_ignoring_conflicts(
        model if entity else mapper.local_table, list(unique_columns), dialect
    ).values({column: bindparam(column) for column in columns})
    if entity:
        return statement.returning(model).execution_options(populate_existing=True)
    return statement.returning(*mapper.primary_key)


def _array(column: ColumnLike[ValueT], values: Iterable[ValueT]) -> BindParameter[Any]:
    return bindparam(None, list(values), type_=postgresql.ARRAY(column.type, dimensions=1))


def _set_columns(row: DeclarativeBase) -> dict[str, Any]:
    """The row's column attributes that are set; the others take their column defaults."""
    return {
        attribute.key: value
        for attribute in inspect(type(row)).column_attrs
        if (value := getattr(row, attribute.key)) is not None
    }
