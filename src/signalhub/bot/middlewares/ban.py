"""A banned user's updates reach no handler: the bot answers them with one fixed message."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiogram import BaseMiddleware
from aiogram.types import TelegramObject, Update

from signalhub.models import User
from signalhub.users import service as users


class BannedUserMiddleware(BaseMiddleware):
    """Runs after UserMiddleware. Two kinds of update still go through, unanswered: payments
    Telegram has already taken or given back (the ledger records money whoever it came from;
    the receipt is never sent) and the blocked-bot flag."""

    async def __call__(
        self,
        handler: Callable[[TelegramObject, dict[str, Any]], Awaitable[Any]],
        event: TelegramObject,
        data: dict[str, Any],
    ) -> Any:
        user: User | None = data.get("user")
        if user is None or user.banned_at is None or not isinstance(event, Update):
            return await handler(event, data)
        if _bookkeeping(event):
            return await handler(event, data)
        await _answer(event)
        return None


def _bookkeeping(update: Update) -> bool:
    message = update.message
    settled = message is not None and (
        message.successful_payment is not None or message.refunded_payment is not None
    )
    return settled or update.my_chat_member is not None


async def _answer(update: Update) -> None:
    message = update.message or update.edited_message
    if message is not None:
        await message.answer(users.BANNED_MESSAGE)
    elif update.callback_query is not None:
        await update.callback_query.answer(users.BANNED_MESSAGE, show_alert=True)
    elif update.pre_checkout_query is not None:
        await update.pre_checkout_query.answer(ok=False, error_message=users.BANNED_MESSAGE)
