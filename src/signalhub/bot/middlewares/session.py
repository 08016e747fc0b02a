from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from signalhub.db import Database
from signalhub.errors import AppError


class DatabaseSessionMiddleware(BaseMiddleware):
    """The bot's transaction owner: one session per update, committed when the handler returns,
    rolled back when it raises (except errors that report an outcome worth keeping)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self.database.sessionmaker() as session:
            data["session"] = session
            try:
                result = await handler(event, data)
            except AppError as error:
                if error.commit_transaction:
                    await session.commit()
                else:
                    await session.rollback()
                raise
            except BaseException:
                await session.rollback()
                raise
            await session.commit()
            return result
