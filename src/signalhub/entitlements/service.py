"""The only place entitlements are granted or revoked, for Stripe and Telegram Stars alike.

Each paid period is one row keyed by its payment. Buying a tier that is still running chains the
new period after the current one; revoking a period pulls the later ones of that tier forward."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit import service as audit
from signalhub.entitlements.repository import EntitlementRepository, Period
from signalhub.kit.bus import publish_user_changed
from signalhub.models import Entitlement, Payment, Product, Tier
from signalhub.ops import metrics


@dataclass(frozen=True)
class CurrentTier:
    tier: Tier
    expires_at: datetime | None


@dataclass(frozen=True)
class TierReading:
    current: CurrentTier
    # When `current` next changes by itself, as a period starts or ends; None: never.
    changes_at: datetime | None


@dataclass(frozen=True)
class GrantResult:
    entitlement: Entitlement
    created: bool


async def grant(
    session: AsyncSession,
    product: Product,
    payment: Payment,
    now: datetime,
    *,
    payment_is_new: bool = False,
) -> GrantResult:
    """Idempotent per payment: a second grant for the same payment returns the first one. The
    caller holds the payer's money lock (`billing.settlement.lock_money`), so the chain of
    periods is read and extended by one transaction at a time. A payment inserted in this
    transaction (`payment_is_new`) cannot have bought anything yet: no need to look."""
    repository = EntitlementRepository(session)
    if not payment_is_new:
        existing = await repository.get_by_payment(payment.id)
        if existing is not None:
            return GrantResult(existing, created=False)

    running_until = await repository.latest_expiry(payment.user_id, product.tier, now)
    starts_at = max(now, running_until) if running_until else now
    candidate = Entitlement(
        user_id=payment.user_id,
        product_id=product.id,
        payment_id=payment.id,
        tier=product.tier,
        starts_at=starts_at,
        expires_at=starts_at + timedelta(days=product.duration_days),
        created_at=now,
    )
    entitlement = await repository.insert_if_absent(candidate, "payment_id")
    if entitlement is None:
        # Only a caller that skipped the lock can lose this race; it gets the winner's row.
        existing = await repository.get_by_payment(payment.id)
        assert existing is not None
        return GrantResult(existing, created=False)
    metrics.entitlements.labels("granted", product.tier).inc()
    publish_user_changed(session, payment.user_id)
    await audit.record(
        session,
        "entitlement.granted",
        subject_type="entitlement",
        subject_id=entitlement.id,
        user_id=payment.user_id,
        data={
            "payment_id": payment.id,
            "product": product.code,
            "tier": product.tier,
            "starts_at": entitlement.starts_at.isoformat(),
            "expires_at": entitlement.expires_at.isoformat(),
        },
    )
    return GrantResult(entitlement, created=True)


async def revoke(
    session: AsyncSession, payment: Payment, reason: str, now: datetime
) -> Entitlement | None:
    """Revokes what this payment bought; None when it bought nothing (yet) or is already revoked.
    The caller holds the payer's money lock, as for `grant`."""
    repository = EntitlementRepository(session)
    entitlement = await repository.get_by_payment(payment.id)
    if entitlement is None or entitlement.revoked_at is not None:
        return None
    entitlement.revoked_at = now
    entitlement.revoke_reason = reason
    await session.flush()

    cursor = entitlement.starts_at
    for later in await repository.chained_after(
        entitlement.user_id, entitlement.tier, entitlement.starts_at
    ):
        duration = later.expires_at - later.starts_at
        later.starts_at = max(cursor, later.created_at)
        later.expires_at = later.starts_at + duration
        cursor = later.expires_at
    await session.flush()

    metrics.entitlements.labels("revoked", entitlement.tier).inc()
    publish_user_changed(session, entitlement.user_id)
    await audit.record(
        session,
        "entitlement.revoked",
        subject_type="entitlement",
        subject_id=entitlement.id,
        user_id=entitlement.user_id,
        data={"payment_id": payment.id, "reason": reason, "tier": entitlement.tier},
    )
    return entitlement


async def for_payment(session: AsyncSession, payment_id: int) -> Entitlement | None:
    return await EntitlementRepository(session).get_by_payment(payment_id)


async def current(session: AsyncSession, user_id: int, now: datetime) -> CurrentTier:
    """Highest tier running now; expiry is read from the rows, so nothing needs a job to expire."""
    return (await reading(session, user_id, now)).current


async def reading(session: AsyncSession, user_id: int, now: datetime) -> TierReading:
    """The current tier and until when it holds unless a grant or revoke intervenes."""
    active = await EntitlementRepository(session).active(user_id, now)
    boundaries = [row.starts_at for row in active if row.starts_at > now]
    boundaries += [row.expires_at for row in active]
    return TierReading(_highest_running(active, now), min(boundaries, default=None))


def _highest_running(active: Sequence[Period], now: datetime) -> CurrentTier:
    running = [row for row in active if row.starts_at <= now]
    if not running:
        return CurrentTier(Tier.free, None)
    tier = max((Tier(row.tier) for row in running), key=lambda value: value.rank)
    expires_at = max(row.expires_at for row in active if row.tier == tier)
    return CurrentTier(tier, expires_at)
