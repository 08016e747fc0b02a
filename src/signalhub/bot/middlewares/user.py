from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject
from aiogram.types import User as TelegramUser

from signalhub.config import Settings
from signalhub.users import service as users


class UserMiddleware(BaseMiddleware):
    """Registers or refreshes whoever sent the update and hands handlers `user`. An update that
    no person sent (a channel post, another bot) is not ours to answer: no handler sees it."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        sender: TelegramUser | None = data.get("event_from_user")
        if sender is None or sender.is_bot:
            return None
        data["user"] = await users.upsert_from_telegram(
            data["session"],
            users.TelegramProfile(
                telegram_id=sender.id,
                username=sender.username,
                first_name=sender.first_name,
                language_code=sender.language_code,
            ),
            self.settings.admin_telegram_ids,
        )
        return await handler(event, data)
