"""Stripe promises neither order nor single delivery. Whatever order and however many copies of
one charge's events arrive, the end state is the one in-order delivery gives."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.stripe.errors import PaymentNotYetKnown
from signalhub.billing.stripe.service import process_event
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.models import Entitlement, Payment, Product, Tier, User
from tests.factories import create_product, create_user
from tests.fakes import stripe_events as ev

# In-order delivery is index order: Checkout completes, the charge's own event follows, then
# a partial and a full refund, then a dispute opens and is lost.
CHECKOUT, SUCCEEDED, PARTIALLY_REFUNDED, REFUNDED, DISPUTED, DISPUTE_LOST = range(6)


@dataclass(frozen=True)
class EndState:
    payments: int
    status: str
    refunded_minor: int
    # Whether the purchase still entitles: a refund that arrives after the grant leaves a
    # revoked row behind, one that arrives first leaves none; both entitle to nothing.
    entitled: bool
    tier: Tier


def charge_events(user: User, product: Product) -> list[dict[str, Any]]:
    meta = ev.metadata(user_id=user.id, product=product.code)
    intent = ev.unique("pi")
    charge = ev.charge(meta=meta, payment_intent=intent)
    dispute = ev.dispute(
        charge_id=str(charge["id"]), payment_intent=intent, status="needs_response"
    )
    return [
        ev.event(
            "checkout.session.completed", ev.checkout_session(meta=meta, payment_intent=intent)
        ),
        ev.event("charge.succeeded", charge),
        ev.event("charge.refunded", {**charge, "amount_refunded": 700}),
        ev.event(
            "charge.refunded", {**charge, "amount_refunded": charge["amount"], "refunded": True}
        ),
        ev.event("charge.dispute.created", dispute),
        ev.event("charge.dispute.closed", {**dispute, "status": "lost"}),
    ]


async def end_state(session: AsyncSession, user: User) -> EndState:
    payments = (await session.scalars(select(Payment).where(Payment.user_id == user.id))).all()
    grants = (
        await session.scalars(
            select(Entitlement)
            .where(Entitlement.user_id == user.id)
            .execution_options(populate_existing=True)
        )
    ).all()
    payment = payments[0]
    await session.refresh(payment)
    return EndState(
        payments=len(payments),
        status=payment.status,
        refunded_minor=payment.refunded_amount_minor,
        entitled=any(grant.revoked_at is None for grant in grants),
        tier=(await entitlements.current(session, user.id, utcnow())).tier,
    )


async def deliver_all(
    database: Database, settings: Settings, user: User, product: Product, order: list[int]
) -> EndState:
    events = charge_events(user, product)
    queue = list(order)
    while queue:
        index = queue.pop(0)
        try:
            # One transaction per delivery, as the webhook does.
            async with database.transaction() as session:
                await process_event(session, events[index], settings, signed_at=None)
        except PaymentNotYetKnown:
            # Answered 503: Stripe delivers it again later.
            queue.append(index)
    async with database.transaction() as session:
        return await end_state(session, user)


async def assert_same_end_as_in_order(
    database: Database, settings: Settings, deliveries: list[int]
) -> tuple[User, EndState]:
    """Delivers `deliveries` for one buyer and their sorted, de-duplicated set for another."""
    async with database.transaction() as session:
        shuffled_user, in_order_user = await create_user(session), await create_user(session)
        product = await create_product(session)
    shuffled = await deliver_all(database, settings, shuffled_user, product, deliveries)
    in_order = await deliver_all(
        database, settings, in_order_user, product, sorted(set(deliveries))
    )
    assert shuffled == in_order
    return shuffled_user, shuffled


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    deliveries=st.lists(st.sampled_from([CHECKOUT, SUCCEEDED, REFUNDED]), min_size=1, max_size=7)
)
async def test_any_order_and_duplication_ends_in_the_in_order_state(
    database: Database, settings: Settings, deliveries: list[int]
) -> None:
    shuffled_user, shuffled = await assert_same_end_as_in_order(database, settings, deliveries)
    assert shuffled.payments == 1
    async with database.transaction() as session:
        grants = await session.scalar(
            select(func.count())
            .select_from(Entitlement)
            .where(Entitlement.user_id == shuffled_user.id)
        )
    assert (grants or 0) <= 1


async def test_the_three_events_in_order_end_refunded_and_revoked(
    database: Database, settings: Settings
) -> None:
    """Pins the in-order reference itself, so the property compares against the right state."""
    async with database.transaction() as session:
        user, product = await create_user(session), await create_product(session)
    state = await deliver_all(database, settings, user, product, [CHECKOUT, SUCCEEDED, REFUNDED])
    assert state == EndState(1, "refunded", 1900, False, Tier.free)


async def test_checkout_and_charge_alone_end_paid(database: Database, settings: Settings) -> None:
    async with database.transaction() as session:
        user, product = await create_user(session), await create_product(session)
    state = await deliver_all(database, settings, user, product, [SUCCEEDED, CHECKOUT, SUCCEEDED])
    assert state == EndState(1, "succeeded", 0, True, Tier.premium)
    async with database.transaction() as session:
        count = await session.scalar(
            select(func.count()).select_from(Payment).where(Payment.user_id == user.id)
        )
    assert count == 1


@settings(max_examples=60, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    # A dispute is only ever about a charge Stripe also tells us of: one charge event, then any
    # others, in any order (built, not filtered, so no example is ever thrown away).
    deliveries=st.tuples(
        st.integers(CHECKOUT, REFUNDED),
        st.lists(st.integers(CHECKOUT, DISPUTE_LOST), max_size=8),
    ).flatmap(lambda pair: st.permutations([pair[0], *pair[1]]))
)
async def test_refunds_and_disputes_in_any_order_end_in_the_in_order_state(
    database: Database, settings: Settings, deliveries: list[int]
) -> None:
    await assert_same_end_as_in_order(database, settings, deliveries)
