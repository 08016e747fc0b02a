from __future__ import annotations

from sqlalchemy import select, update

from signalhub.kit.repository import Repository
from signalhub.models import User


class UserRepository(Repository):
    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_by_telegram_id(self, telegram_id: int) -> User | None:
        return await self.session.scalar(select(User).where(User.telegram_id == telegram_id))

    async def set_blocked(self, telegram_id: int, is_blocked: bool) -> int:
        result = await self.session.execute(
            update(User).where(User.telegram_id == telegram_id).values(is_blocked=is_blocked)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def set_marketing_opt_out(self, user_id: int, opted_out: bool) -> None:
        await self.session.execute(
            update(User).where(User.id == user_id).values(marketing_opt_out=opted_out)
        )
