"""Typed dependencies shared by every route module."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.bot.identity import BotIdentity
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.errors import RateLimited
from signalhub.kit.ratelimit import RateLimiter
from signalhub.positions.reader import PositionsReader
from signalhub.users.cache import UserCache


# Dependencies are `async def` even when they do not await: FastAPI runs a plain `def` one in a
# worker thread, a thread hop per dependency per request (a tenth of the server's CPU under load).
async def get_settings_dep(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


async def get_database(request: Request) -> Database:
    database: Database = request.app.state.database
    return database


async def get_session(request: Request) -> AsyncIterator[AsyncSession]:
    """The request is the transaction owner."""
    async with (await get_database(request)).transaction() as session:
        yield session


SettingsDep = Annotated[Settings, Depends(get_settings_dep)]
DatabaseDep = Annotated[Database, Depends(get_database)]
# "function" scope: the commit happens before the response is sent, so a failed commit is never
# answered with a success.
SessionDep = Annotated[AsyncSession, Depends(get_session, scope="function")]


async def signin_rate_limit(request: Request) -> None:
    """Sign-in endpoints are rate limited per client IP (behind a proxy, uvicorn's
    --proxy-headers puts the forwarded address here)."""
    settings = await get_settings_dep(request)
    limiter: RateLimiter = request.app.state.rate_limiter
    client_ip = request.client.host if request.client else "unknown"
    if not await limiter.allow(f"signin:{client_ip}", settings.signin_rate_limit_per_minute, 60):
        raise RateLimited("Too many sign-in attempts from this address; wait a minute.")


SigninRateLimit = Depends(signin_rate_limit)


async def get_bot_username(request: Request) -> str | None:
    identity: BotIdentity = request.app.state.bot_identity
    return await identity.username()


BotUsernameDep = Annotated[str | None, Depends(get_bot_username)]


async def get_positions_reader(request: Request) -> PositionsReader:
    reader: PositionsReader = request.app.state.positions_reader
    return reader


PositionsReaderDep = Annotated[PositionsReader, Depends(get_positions_reader)]


async def get_user_cache(request: Request) -> UserCache:
    cache: UserCache = request.app.state.user_cache
    return cache


UserCacheDep = Annotated[UserCache, Depends(get_user_cache)]
