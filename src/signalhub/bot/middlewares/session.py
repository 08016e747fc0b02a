from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject

from signalhub.db import Database


class DatabaseSessionMiddleware(BaseMiddleware):
    """The bot's transaction owner: one session per update (see Database.transaction)."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        async with self.database.transaction() as session:
            data["session"] = session
            return await handler(event, data)
