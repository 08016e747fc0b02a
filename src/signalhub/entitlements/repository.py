from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import func, select

from signalhub.kit.repository import Repository
from signalhub.models import Entitlement


class EntitlementRepository(Repository):
    async def get_by_payment(self, payment_id: int) -> Entitlement | None:
        return await self.session.scalar(
            select(Entitlement).where(Entitlement.payment_id == payment_id)
        )

    async def latest_expiry(self, user_id: int, tier: str, after: datetime) -> datetime | None:
        return await self.session.scalar(
            select(func.max(Entitlement.expires_at)).where(
                Entitlement.user_id == user_id,
                Entitlement.tier == tier,
                Entitlement.revoked_at.is_(None),
                Entitlement.expires_at > after,
            )
        )

    async def active(self, user_id: int, now: datetime) -> Sequence[Entitlement]:
        """Unrevoked entitlements that have not ended, including chained ones not yet started."""
        result = await self.session.scalars(
            select(Entitlement)
            .where(
                Entitlement.user_id == user_id,
                Entitlement.revoked_at.is_(None),
                Entitlement.expires_at > now,
            )
            .order_by(Entitlement.starts_at)
        )
        return result.all()

    async def chained_after(
        self, user_id: int, tier: str, start: datetime
    ) -> Sequence[Entitlement]:
        result = await self.session.scalars(
            select(Entitlement)
            .where(
                Entitlement.user_id == user_id,
                Entitlement.tier == tier,
                Entitlement.revoked_at.is_(None),
                Entitlement.starts_at >= start,
            )
            .order_by(Entitlement.starts_at, Entitlement.id)
        )
        return result.all()
