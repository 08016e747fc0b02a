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

    async def insert_if_absent(self, entitlement: Entitlement) -> bool:
        """False when an entitlement for this payment already exists (the unique index decides)."""
        statement = self.insert_ignoring_conflicts(Entitlement, ["payment_id"]).values(
            user_id=entitlement.user_id,
            product_id=entitlement.product_id,
            payment_id=entitlement.payment_id,
            tier=entitlement.tier,
            starts_at=entitlement.starts_at,
            expires_at=entitlement.expires_at,
            created_at=entitlement.created_at,
        )
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

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
