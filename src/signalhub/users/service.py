from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.errors import NotFound
from signalhub.models import Role, User
from signalhub.users.repository import UserRepository


@dataclass(frozen=True)
class TelegramProfile:
    telegram_id: int
    username: str | None = None
    first_name: str | None = None
    language_code: str | None = None


async def upsert_from_telegram(
    session: AsyncSession, profile: TelegramProfile, admin_telegram_ids: list[int]
) -> User:
    """Creates the user on first contact and refreshes the profile on every later one. Telegram ids
    listed as admins are promoted; the insert tolerates a concurrent first contact."""
    repository = UserRepository(session)
    is_listed_admin = profile.telegram_id in admin_telegram_ids
    user = await repository.get_by_telegram_id(profile.telegram_id)
    if user is None:
        role = Role.admin if is_listed_admin else Role.user
        candidate = User(telegram_id=profile.telegram_id, role=role, is_blocked=False)
        # A concurrent first contact may have inserted the row since our read.
        user = await repository.insert_if_absent(
            candidate, "telegram_id"
        ) or await repository.get_by_telegram_id(profile.telegram_id)
        assert user is not None
    user.username = profile.username
    user.first_name = profile.first_name
    user.language_code = profile.language_code
    if is_listed_admin:
        user.role = Role.admin
    await session.flush()
    return user


async def find(session: AsyncSession, user_id: int) -> User | None:
    return await UserRepository(session).get(user_id)


async def get(session: AsyncSession, user_id: int) -> User:
    user = await find(session, user_id)
    if user is None:
        raise NotFound("User not found.", code="user_not_found")
    return user


async def get_by_telegram_id(session: AsyncSession, telegram_id: int) -> User | None:
    return await UserRepository(session).get_by_telegram_id(telegram_id)


async def set_blocked(session: AsyncSession, telegram_id: int, is_blocked: bool) -> None:
    await UserRepository(session).set_blocked(telegram_id, is_blocked)


async def set_marketing_opt_out(session: AsyncSession, user_id: int, opted_out: bool) -> None:
    await UserRepository(session).set_marketing_opt_out(user_id, opted_out)
