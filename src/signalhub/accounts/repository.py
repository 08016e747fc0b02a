from __future__ import annotations

from collections.abc import Collection, Sequence

from sqlalchemy import select

from signalhub.kit.repository import Repository
from signalhub.models import AccountInfo, AccountLink, AccountLinkStatus


class AccountLinkRepository(Repository):
    async def get_for_user(self, user_id: int, link_id: int) -> AccountLink | None:
        return await self.session.scalar(
            select(AccountLink).where(AccountLink.id == link_id, AccountLink.user_id == user_id)
        )

    async def lock_for_user(self, user_id: int) -> Sequence[AccountLink]:
        """Every link of the user, row-locked: changes to who is primary are serialised."""
        links = await self.session.scalars(
            select(AccountLink)
            .where(AccountLink.user_id == user_id)
            .order_by(AccountLink.id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )
        return links.all()

    async def add_if_new(self, link: AccountLink) -> AccountLink | None:
        """None when the user already has a link for this login and server."""
        return await self.insert_if_absent(link, "user_id", "mt5_login", "server")

    async def find(self, user_id: int, mt5_login: int, server: str) -> AccountLink | None:
        return await self.session.scalar(
            select(AccountLink).where(
                AccountLink.user_id == user_id,
                AccountLink.mt5_login == mt5_login,
                AccountLink.server == server,
            )
        )

    async def listed(self, user_id: int) -> Sequence[AccountLink]:
        links = await self.session.scalars(
            select(AccountLink)
            .where(AccountLink.user_id == user_id, AccountLink.status != AccountLinkStatus.unlinked)
            .order_by(AccountLink.is_primary.desc(), AccountLink.created_at, AccountLink.id)
        )
        return links.all()

    async def primary(self, user_id: int) -> AccountLink | None:
        return await self.session.scalar(
            select(AccountLink).where(AccountLink.user_id == user_id, AccountLink.is_primary)
        )

    async def device_account_statuses(
        self, device_ids: Collection[int]
    ) -> dict[int, AccountLinkStatus]:
        """The status of the link of the account each device reported last; a device that
        never reported an account is absent."""
        rows = await self.session.execute(
            select(AccountInfo.device_id, AccountLink.status)
            .join(AccountLink, AccountLink.id == AccountInfo.account_link_id)
            .where(AccountInfo.device_id.in_(device_ids))
            .order_by(AccountInfo.received_at.desc(), AccountInfo.id.desc())
        )
        statuses: dict[int, AccountLinkStatus] = {}
        for device_id, status in rows:
            if device_id is not None:
                statuses.setdefault(device_id, status)
        return statuses
