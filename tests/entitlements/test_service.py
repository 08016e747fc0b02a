from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing import settlement
from signalhub.db import Database
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.models import AuditLog, Entitlement, Tier
from tests.factories import create_payment, create_product, create_user


async def test_grant_is_idempotent_per_payment(session: AsyncSession) -> None:
    user = await create_user(session)
    product = await create_product(session)
    payment = await create_payment(session, user, product)
    now = utcnow()
    first = await entitlements.grant(session, product, payment, now)
    second = await entitlements.grant(session, product, payment, now + timedelta(hours=1))
    assert first.created is True
    assert second.created is False
    assert second.entitlement.id == first.entitlement.id
    assert second.entitlement.expires_at == now + timedelta(days=30)
    count = await session.scalar(
        select(func.count()).select_from(Entitlement).where(Entitlement.user_id == user.id)
    )
    assert count == 1


async def test_buying_while_active_extends_expiry(session: AsyncSession) -> None:
    user = await create_user(session)
    product = await create_product(session, duration_days=30)
    now = utcnow()
    await entitlements.grant(session, product, await create_payment(session, user, product), now)
    later = now + timedelta(days=10)
    await entitlements.grant(session, product, await create_payment(session, user, product), later)
    current = await entitlements.current(session, user.id, later)
    assert current.tier is Tier.premium
    assert current.expires_at == now + timedelta(days=60)


async def test_buying_after_expiry_starts_fresh(session: AsyncSession) -> None:
    user = await create_user(session)
    product = await create_product(session, duration_days=30)
    now = utcnow()
    await entitlements.grant(session, product, await create_payment(session, user, product), now)
    much_later = now + timedelta(days=45)
    assert (await entitlements.current(session, user.id, much_later)).tier is Tier.free
    await entitlements.grant(
        session, product, await create_payment(session, user, product), much_later
    )
    current = await entitlements.current(session, user.id, much_later)
    assert current.expires_at == much_later + timedelta(days=30)


async def test_highest_active_tier_wins(session: AsyncSession) -> None:
    user = await create_user(session)
    premium = await create_product(session, tier=Tier.premium, duration_days=60)
    vip = await create_product(session, tier=Tier.vip, duration_days=10)
    now = utcnow()
    await entitlements.grant(session, premium, await create_payment(session, user, premium), now)
    await entitlements.grant(session, vip, await create_payment(session, user, vip), now)
    assert (await entitlements.current(session, user.id, now)).tier is Tier.vip
    after_vip = await entitlements.current(session, user.id, now + timedelta(days=11))
    assert after_vip.tier is Tier.premium
    assert after_vip.expires_at == now + timedelta(days=60)
    assert (
        await entitlements.current(session, user.id, now + timedelta(days=61))
    ).tier is Tier.free


def test_tiers_are_ordered() -> None:
    assert [tier.rank for tier in (Tier.free, Tier.premium, Tier.vip, Tier.enterprise)] == [
        0,
        1,
        2,
        3,
    ]


async def test_revoke_removes_access_and_pulls_later_periods_forward(
    session: AsyncSession,
) -> None:
    user = await create_user(session)
    product = await create_product(session, duration_days=30)
    now = utcnow()
    first = await create_payment(session, user, product)
    second = await create_payment(session, user, product)
    await entitlements.grant(session, product, first, now)
    await entitlements.grant(session, product, second, now)
    assert (await entitlements.current(session, user.id, now)).expires_at == now + timedelta(
        days=60
    )

    revoked = await entitlements.revoke(session, first, "refund", now)
    assert revoked is not None
    assert revoked.revoke_reason == "refund"
    current = await entitlements.current(session, user.id, now)
    assert current.tier is Tier.premium
    assert current.expires_at == now + timedelta(days=30)

    assert await entitlements.revoke(session, first, "refund", now) is None
    await entitlements.revoke(session, second, "dispute_lost", now)
    assert (await entitlements.current(session, user.id, now)).tier is Tier.free


async def test_revoke_without_grant_is_a_no_op(session: AsyncSession) -> None:
    user = await create_user(session)
    product = await create_product(session)
    payment = await create_payment(session, user, product)
    assert await entitlements.revoke(session, payment, "refund", utcnow()) is None


async def test_grant_and_revoke_write_audit_log(session: AsyncSession) -> None:
    user = await create_user(session)
    product = await create_product(session)
    payment = await create_payment(session, user, product)
    now = utcnow()
    await entitlements.grant(session, product, payment, now)
    await entitlements.grant(session, product, payment, now)
    await entitlements.revoke(session, payment, "refund", now)
    actions = (
        await session.scalars(
            select(AuditLog.action)
            .where(AuditLog.user_id == user.id, AuditLog.subject_type == "entitlement")
            .order_by(AuditLog.id)
        )
    ).all()
    assert actions == ["entitlement.granted", "entitlement.revoked"]


@settings(max_examples=25, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    operations=st.lists(
        st.tuples(st.sampled_from(["grant", "revoke"]), st.integers(0, 3), st.integers(0, 20)),
        min_size=1,
        max_size=12,
    )
)
async def test_expiry_equals_sum_of_unrevoked_durations(
    session: AsyncSession, operations: list[tuple[str, int, int]]
) -> None:
    """Purchases bought back to back, in any order of grants and revocations, always add up to
    the time still paid for: the chain never loses or invents days."""
    user = await create_user(session)
    product = await create_product(session, duration_days=7)
    payments = [await create_payment(session, user, product) for _ in range(4)]
    start = utcnow()
    granted: set[int] = set()
    revoked: set[int] = set()
    for action, index, _ in operations:
        if action == "grant":
            await entitlements.grant(session, product, payments[index], start)
            granted.add(index)
        else:
            await entitlements.revoke(session, payments[index], "refund", start)
            if index in granted:
                revoked.add(index)
    paid = len(granted - revoked)
    current = await entitlements.current(session, user.id, start)
    if paid == 0:
        assert current.tier is Tier.free
    else:
        assert current.expires_at == start + timedelta(days=7 * paid)
    await session.rollback()


@pytest.mark.postgres
async def test_twenty_concurrent_grants_for_one_payment_give_one_entitlement(
    committing_database: Database,
) -> None:
    async with committing_database.transaction() as session:
        user = await create_user(session)
        product = await create_product(session)
        payment = await create_payment(session, user, product)
    now = utcnow()

    async def grant_once() -> bool:
        async with committing_database.transaction() as session:
            await settlement.lock_money(session, user.id)
            return (await entitlements.grant(session, product, payment, now)).created

    results = await asyncio.gather(*(grant_once() for _ in range(20)))
    assert results.count(True) == 1
    async with committing_database.transaction() as session:
        rows = await session.scalar(
            select(func.count())
            .select_from(Entitlement)
            .where(Entitlement.payment_id == payment.id)
        )
        grants = await session.scalar(
            select(func.count())
            .select_from(AuditLog)
            .where(AuditLog.action == "entitlement.granted", AuditLog.user_id == user.id)
        )
    assert rows == 1
    assert grants == 1


@pytest.mark.postgres
async def test_concurrent_purchases_by_one_user_all_extend(committing_database: Database) -> None:
    async with committing_database.transaction() as session:
        user = await create_user(session)
        product = await create_product(session, duration_days=30)
        payments = [await create_payment(session, user, product) for _ in range(8)]
    now = utcnow()

    async def grant(payment_index: int) -> None:
        async with committing_database.transaction() as session:
            await settlement.lock_money(session, user.id)
            await entitlements.grant(session, product, payments[payment_index], now)

    await asyncio.gather(*(grant(index) for index in range(8)))
    async with committing_database.transaction() as session:
        current = await entitlements.current(session, user.id, now)
    assert current.expires_at == now + timedelta(days=240)
