from __future__ import annotations

from sqlalchemy import bindparam, select, update

from signalhub.kit.repository import Repository
from signalhub.models import User

# Built once: every sign-in runs it, and building a statement (and its cache key) cost more
# CPU than the query.
_BY_TELEGRAM_ID = select(User).where(User.telegram_id == bindparam("telegram_id"))


class UserRepository(Repository):
    async def get(self, user_id: int) -> User | None:
        return await self.session.get(User, user_id)

    async def get_for_update(self, user_id: int) -> User | None:
        """FOR NO KEY UPDATE: serialises bans of one user without blocking the inserts that
        only reference the row (a refresh token's foreign key takes KEY SHARE)."""
        return await self.session.scalar(
            select(User)
            .where(User.id == user_id)
            .with_for_update(key_share=True)
            .execution_options(populate_existing=True)
        )

    async def get_by_telegram_id(self, telegram_id: int) -> User | None:
        return await self.session.scalar(_BY_TELEGRAM_ID, {"telegram_id": telegram_id})

    async def set_bot_blocked(self, telegram_id: int, bot_blocked: bool) -> int:
        result = await self.session.execute(
            update(User).where(User.telegram_id == telegram_id).values(bot_blocked=bot_blocked)
        )
        return int(getattr(result, "rowcount", 0) or 0)

    async def set_marketing_opt_out(self, user_id: int, opted_out: bool) -> None:
        await self.session.execute(
            update(User).where(User.id == user_id).values(marketing_opt_out=opted_out)
        )
