from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import NamedTuple

from sqlalchemy import bindparam, func, select

from signalhub.kit.repository import Repository
from signalhub.models import Entitlement


class Period(NamedTuple):
    tier: str
    starts_at: datetime
    expires_at: datetime


# Built once: every grant chains onto the latest expiry of its tier.
_LATEST_EXPIRY = select(func.max(Entitlement.expires_at)).where(
    Entitlement.user_id == bindparam("user_id"),
    Entitlement.tier == bindparam("tier"),
    Entitlement.revoked_at.is_(None),
    Entitlement.expires_at > bindparam("after"),
)
# Built once: every sign-in reads the caller's tier.
_ACTIVE_PERIODS = (
    select(Entitlement.tier, Entitlement.starts_at, Entitlement.expires_at)
    .where(
        Entitlement.user_id == bindparam("user_id"),
        Entitlement.revoked_at.is_(None),
        Entitlement.expires_at > bindparam("now"),
    )
    .order_by(Entitlement.starts_at)
)


class EntitlementRepository(Repository):
    async def get_by_payment(self, payment_id: int) -> Entitlement | None:
        return await self.session.scalar(
            select(Entitlement).where(Entitlement.payment_id == payment_id)
        )

    async def latest_expiry(self, user_id: int, tier: str, after: datetime) -> datetime | None:
        return await self.session.scalar(
            _LATEST_EXPIRY, {"user_id": user_id, "tier": tier, "after": after}
        )

    async def active(self, user_id: int, now: datetime) -> list[Period]:
        """The periods of unrevoked entitlements that have not ended, including chained ones not
        yet started. Columns, not entities: every sign-in reads them, and loading entities cost
        more than the query."""
        result = await self.session.execute(_ACTIVE_PERIODS, {"user_id": user_id, "now": now})
        return [Period(*row) for row in result]

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
