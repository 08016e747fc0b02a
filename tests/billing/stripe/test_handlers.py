"""Each event type through the real processing path (the webhook's service call), on the
suite's database."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.stripe.errors import PaymentNotYetKnown
from signalhub.billing.stripe.service import EventOutcome
from signalhub.config import Settings
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.models import (
    AuditLog,
    Entitlement,
    OutboxMessage,
    Payment,
    Product,
    StripeEvent,
    Tier,
    User,
)
from tests.billing.stripe.conftest import deliver
from tests.fakes import stripe_events as ev


async def payment_for(session: AsyncSession, provider_payment_id: str) -> Payment:
    payment = await session.scalar(
        select(Payment)
        .where(Payment.provider_payment_id == provider_payment_id)
        .execution_options(populate_existing=True)
    )
    assert payment is not None
    return payment


async def entitlement_for(session: AsyncSession, payment: Payment) -> Entitlement | None:
    return await session.scalar(
        select(Entitlement)
        .where(Entitlement.payment_id == payment.id)
        .execution_options(populate_existing=True)
    )


async def outbox_for(session: AsyncSession, chat_id: int, kind: str) -> list[OutboxMessage]:
    result = await session.scalars(
        select(OutboxMessage).where(OutboxMessage.chat_id == chat_id, OutboxMessage.kind == kind)
    )
    return list(result.all())


async def stored_event(session: AsyncSession, event_id: str) -> StripeEvent:
    row = await session.scalar(
        select(StripeEvent)
        .where(StripeEvent.event_id == event_id)
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def charge_for(user: User, product: Product, **fields: object) -> dict[str, object]:
    return ev.charge(meta=ev.metadata(user_id=user.id, product=product.code), **fields)  # type: ignore[arg-type]


async def test_charge_succeeded_records_the_payment_under_its_payment_intent_and_grants(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    charge = charge_for(buyer, product, payment_intent="pi_3MtwBwLkdIwHu7ix28a3tqPa")
    assert (
        await deliver(session, settings, ev.event("charge.succeeded", charge))
        is EventOutcome.processed
    )

    payment = await payment_for(session, "pi_3MtwBwLkdIwHu7ix28a3tqPa")
    assert (payment.provider, payment.status, payment.amount_minor, payment.currency) == (
        "stripe",
        "succeeded",
        1900,
        "USD",
    )
    assert payment.user_id == buyer.id
    assert payment.product_id == product.id
    assert payment.details["charge_id"] == charge["id"]
    entitlement = await entitlement_for(session, payment)
    assert entitlement is not None
    assert entitlement.revoked_at is None
    assert (await entitlements.current(session, buyer.id, utcnow())).tier is Tier.premium
    actions = (
        await session.scalars(select(AuditLog.action).where(AuditLog.user_id == buyer.id))
    ).all()
    assert "payment.recorded" in actions
    assert "entitlement.granted" in actions


async def test_a_charge_without_payment_intent_is_keyed_by_the_charge_id(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    charge = charge_for(buyer, product, payment_intent=None)
    await deliver(session, settings, ev.event("charge.succeeded", charge))
    payment = await payment_for(session, str(charge["id"]))
    assert payment.status == "succeeded"


async def test_the_user_may_be_named_by_telegram_id(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    charge = ev.charge(
        meta={"telegram_id": str(buyer.telegram_id), "product": product.code},
        payment_intent=ev.unique("pi"),
    )
    await deliver(session, settings, ev.event("charge.succeeded", charge))
    payment = await payment_for(session, str(charge["payment_intent"]))
    assert payment.user_id == buyer.id


async def test_checkout_then_charge_is_one_payment_and_one_grant(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    intent = ev.unique("pi")
    meta = ev.metadata(user_id=buyer.id, product=product.code)
    checkout = ev.checkout_session(meta=meta, payment_intent=intent)
    await deliver(session, settings, ev.event("checkout.session.completed", checkout))
    await deliver(
        session, settings, ev.event("charge.succeeded", ev.charge(meta=meta, payment_intent=intent))
    )

    payments = (await session.scalars(select(Payment).where(Payment.user_id == buyer.id))).all()
    assert len(payments) == 1
    assert payments[0].details["checkout_session_id"] == checkout["id"]
    grants = (
        await session.scalars(select(Entitlement).where(Entitlement.user_id == buyer.id))
    ).all()
    assert len(grants) == 1


async def test_an_unpaid_checkout_records_nothing(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    meta = ev.metadata(user_id=buyer.id, product=product.code)
    checkout = ev.checkout_session(meta=meta, payment_intent=None, payment_status="unpaid")
    outcome = await deliver(session, settings, ev.event("checkout.session.completed", checkout))
    assert outcome is EventOutcome.processed
    assert (await session.scalars(select(Payment).where(Payment.user_id == buyer.id))).all() == []


async def test_charge_failed_marks_the_payment_failed_and_tells_the_user_why(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    intent = ev.unique("pi")
    charge = charge_for(
        buyer,
        product,
        payment_intent=intent,
        status="failed",
        failure_message="Your card was declined.",
    )
    await deliver(session, settings, ev.event("charge.failed", charge))

    payment = await payment_for(session, intent)
    assert payment.status == "failed"
    assert payment.failure_reason == "Your card was declined."
    assert await entitlement_for(session, payment) is None
    messages = await outbox_for(session, buyer.telegram_id, "payment_failed")
    assert len(messages) == 1
    assert "Your card was declined." in messages[0].text
    assert messages[0].user_id == buyer.id


async def test_a_late_failed_attempt_does_not_undo_a_later_success(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    intent = ev.unique("pi")
    await deliver(
        session,
        settings,
        ev.event("charge.succeeded", charge_for(buyer, product, payment_intent=intent)),
    )
    failed = charge_for(
        buyer, product, payment_intent=intent, status="failed", failure_message="Declined"
    )
    await deliver(session, settings, ev.event("charge.failed", failed))
    payment = await payment_for(session, intent)
    assert payment.status == "succeeded"
    assert await outbox_for(session, buyer.telegram_id, "payment_failed") == []


async def test_a_full_refund_revokes_and_a_partial_one_does_not(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    intent = ev.unique("pi")
    charge = charge_for(buyer, product, payment_intent=intent)
    await deliver(session, settings, ev.event("charge.succeeded", charge))

    await deliver(
        session, settings, ev.event("charge.refunded", {**charge, "amount_refunded": 500})
    )
    payment = await payment_for(session, intent)
    assert (payment.status, payment.refunded_amount_minor) == ("succeeded", 500)
    entitlement = await entitlement_for(session, payment)
    assert entitlement is not None
    assert entitlement.revoked_at is None

    await deliver(
        session, settings, ev.event("charge.refunded", {**charge, "amount_refunded": 1900})
    )
    payment = await payment_for(session, intent)
    assert (payment.status, payment.refunded_amount_minor) == ("refunded", 1900)
    entitlement = await entitlement_for(session, payment)
    assert entitlement is not None
    assert entitlement.revoked_at is not None
    assert (await entitlements.current(session, buyer.id, utcnow())).tier is Tier.free


async def test_a_refund_before_the_charge_creates_a_refunded_payment_that_never_grants(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    intent = ev.unique("pi")
    charge = charge_for(buyer, product, payment_intent=intent)
    await deliver(
        session, settings, ev.event("charge.refunded", {**charge, "amount_refunded": 1900})
    )
    await deliver(session, settings, ev.event("charge.succeeded", charge))
    payment = await payment_for(session, intent)
    assert payment.status == "refunded"
    assert await entitlement_for(session, payment) is None


@pytest.mark.parametrize(
    ("closing", "status", "revoked"), [("lost", "disputed", True), ("won", "succeeded", False)]
)
async def test_a_dispute_alerts_admins_and_its_outcome_decides_the_entitlement(
    session: AsyncSession,
    settings: Settings,
    buyer: User,
    product: Product,
    closing: str,
    status: str,
    revoked: bool,
) -> None:
    intent = ev.unique("pi")
    charge = charge_for(buyer, product, payment_intent=intent)
    await deliver(session, settings, ev.event("charge.succeeded", charge))

    opened = ev.dispute(charge_id=str(charge["id"]), payment_intent=intent, status="needs_response")
    await deliver(session, settings, ev.event("charge.dispute.created", opened))
    payment = await payment_for(session, intent)
    assert payment.status == "disputed"
    entitlement = await entitlement_for(session, payment)
    assert entitlement is not None
    assert entitlement.revoked_at is None
    alerts = await outbox_for(session, 900, "admin_alert")
    assert len(alerts) == 1
    assert opened["id"] in alerts[0].text
    assert "19.00 USD" in alerts[0].text

    await deliver(
        session, settings, ev.event("charge.dispute.closed", {**opened, "status": closing})
    )
    payment = await payment_for(session, intent)
    assert payment.status == status
    alerts = await outbox_for(session, 900, "admin_alert")
    assert len(alerts) == 2
    assert f"closed: {closing}" in alerts[1].text
    entitlement = await entitlement_for(session, payment)
    assert entitlement is not None
    assert (entitlement.revoked_at is not None) is revoked


async def test_a_dispute_found_by_charge_id_when_there_is_no_payment_intent(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    charge = charge_for(buyer, product, payment_intent=None)
    await deliver(session, settings, ev.event("charge.succeeded", charge))
    lost = ev.dispute(charge_id=str(charge["id"]), payment_intent=None, status="lost")
    await deliver(session, settings, ev.event("charge.dispute.closed", lost))
    assert (await payment_for(session, str(charge["id"]))).status == "disputed"


async def test_a_dispute_for_an_unknown_charge_is_left_for_stripe_to_redeliver(
    session: AsyncSession, settings: Settings
) -> None:
    opened = ev.dispute(
        charge_id="ch_never_seen", payment_intent="pi_never_seen", status="needs_response"
    )
    with pytest.raises(PaymentNotYetKnown):
        await deliver(session, settings, ev.event("charge.dispute.created", opened))


@pytest.mark.parametrize(
    ("meta", "reason"),
    [
        ({"product": "premium_x"}, "metadata names no user"),
        ({"user_id": "987654321", "product": "premium_x"}, "no such user"),
        ({"user_id": "seven", "product": "premium_x"}, "metadata has a malformed user id"),
        ({"user_id": "{user}", "product": "no_such_product"}, "unknown product 'no_such_product'"),
        ({"user_id": "{user}"}, "metadata names no product"),
    ],
)
async def test_an_event_that_can_never_succeed_is_stored_failed_and_admins_are_alerted(
    session: AsyncSession,
    settings: Settings,
    buyer: User,
    meta: dict[str, str],
    reason: str,
) -> None:
    meta = {key: value.replace("{user}", str(buyer.id)) for key, value in meta.items()}
    payload = ev.event("charge.succeeded", ev.charge(meta=meta, payment_intent=ev.unique("pi")))
    assert await deliver(session, settings, payload) is EventOutcome.failed

    row = await stored_event(session, str(payload["id"]))
    assert (row.status, row.error_message) == ("failed", reason)
    assert (await session.scalars(select(Payment).where(Payment.user_id == buyer.id))).all() == []
    alerts = await outbox_for(session, 900, "admin_alert")
    assert len(alerts) == 1
    assert reason in alerts[0].text
    assert await deliver(session, settings, payload) is EventOutcome.duplicate


async def test_a_failed_handler_keeps_none_of_its_partial_effects(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    """The product is deleted between recording and granting: the event's transaction rolls
    back whole, and only the failed event is stored."""
    intent = ev.unique("pi")
    await deliver(
        session,
        settings,
        ev.event("charge.succeeded", charge_for(buyer, product, payment_intent=intent)),
    )
    payment = await payment_for(session, intent)
    payment.product_id = None
    await session.flush()
    refund = charge_for(buyer, product, payment_intent=intent, amount_refunded=1900)
    assert (
        await deliver(session, settings, ev.event("charge.refunded", refund)) is EventOutcome.failed
    )
    payment = await payment_for(session, intent)
    assert payment.status == "succeeded"
    assert payment.refunded_amount_minor == 0


async def test_a_purchase_while_active_extends_the_expiry(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    for _ in range(2):
        charge = charge_for(buyer, product, payment_intent=ev.unique("pi"))
        await deliver(session, settings, ev.event("charge.succeeded", charge))
    current = await entitlements.current(session, buyer.id, utcnow())
    assert current.expires_at is not None
    assert current.expires_at - utcnow() > timedelta(days=59)
