"""Builds the Bot and the Dispatcher once, at start-up, when a bot token is configured.

Adding a feature: write `bot/routers/<feature>.py` with a `create_router() -> Router` and add it
to `ROUTER_FACTORIES`. Order matters: the first router whose filters match handles the update."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from aiogram import Bot, Dispatcher, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.fsm.storage.base import BaseStorage
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.fsm.storage.redis import RedisStorage

from signalhub.bot.middlewares.ban import BannedUserMiddleware
from signalhub.bot.middlewares.session import DatabaseSessionMiddleware
from signalhub.bot.middlewares.user import UserMiddleware
from signalhub.bot.routers import admin, approvals, help, login, marketing, payments, shop, start
from signalhub.config import Settings
from signalhub.db import Database

# Factories, not module-level routers: aiogram attaches a Router to one parent only, and every
# app (and test) builds its own Dispatcher.
ROUTER_FACTORIES: tuple[Callable[[], Router], ...] = (
    login.create_router,
    start.create_router,
    shop.create_router,
    payments.create_router,
    admin.create_router,
    marketing.create_router,
    approvals.create_router,
    help.create_router,
)


@dataclass
class TelegramBot:
    bot: Bot
    dispatcher: Dispatcher

    def allowed_updates(self) -> list[str]:
        """Exactly the update types our handlers use; `refunded_payment` arrives as a message."""
        return self.dispatcher.resolve_used_update_types()

    async def close(self) -> None:
        await self.bot.session.close()
        await self.dispatcher.storage.close()


def create_bot(settings: Settings) -> Bot:
    if settings.telegram_bot_token is None:
        raise RuntimeError("SIGNALHUB_TELEGRAM_BOT_TOKEN is not set")
    session = (
        AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
        if settings.telegram_api_base
        else None
    )
    return Bot(settings.telegram_bot_token.get_secret_value(), session=session)


def fsm_storage(settings: Settings) -> BaseStorage:
    """Guided flows (/broadcast) keep their step here: in Redis when several API instances
    share the webhook, so the next update finds it whichever instance takes it."""
    if settings.redis_url:
        return RedisStorage.from_url(settings.redis_url)
    return MemoryStorage()


def create_dispatcher(settings: Settings, database: Database) -> Dispatcher:
    dispatcher = Dispatcher(storage=fsm_storage(settings), settings=settings, database=database)
    dispatcher.update.outer_middleware(DatabaseSessionMiddleware(database))
    dispatcher.update.outer_middleware(UserMiddleware(settings))
    dispatcher.update.outer_middleware(BannedUserMiddleware())
    dispatcher.include_routers(*(factory() for factory in ROUTER_FACTORIES))
    return dispatcher


def create_telegram_bot(settings: Settings, database: Database) -> TelegramBot:
    return TelegramBot(create_bot(settings), create_dispatcher(settings, database))
