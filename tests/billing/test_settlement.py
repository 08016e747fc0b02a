"""The settlement service through both translators: a payment grants only what it paid for, a
mismatch of any kind is recorded and alerted and grants nothing, and both providers send the
same receipt."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.repository import PaymentRequestRepository
from signalhub.billing.settlement import PaymentRefused
from signalhub.billing.stars import service as stars
from signalhub.billing.stripe.client import ATTEMPT_KEY
from signalhub.config import Settings
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.models import (
    AuditLog,
    Entitlement,
    OutboxMessage,
    Payment,
    PaymentMethod,
    PaymentRequest,
    PaymentRequestStatus,
    PaymentStatus,
    Product,
    Tier,
    User,
)
from tests.billing.stripe.conftest import deliver
from tests.factories import create_product, create_user
from tests.fakes import stripe_events as ev

ADMIN_CHAT = 900


async def ledger(session: AsyncSession, provider_payment_id: str) -> Payment:
    payment = await session.scalar(
        select(Payment)
        .where(Payment.provider_payment_id == provider_payment_id)
        .execution_options(populate_existing=True)
    )
    assert payment is not None
    return payment


async def messages(session: AsyncSession, chat_id: int, kind: str) -> list[str]:
    result = await session.scalars(
        select(OutboxMessage.text).where(
            OutboxMessage.chat_id == chat_id, OutboxMessage.kind == kind
        )
    )
    return list(result.all())


async def granted(session: AsyncSession, payment: Payment) -> int:
    count = await session.scalar(
        select(func.count()).select_from(Entitlement).where(Entitlement.payment_id == payment.id)
    )
    return int(count or 0)


async def open_request(
    session: AsyncSession,
    user: User,
    product: Product,
    method: PaymentMethod,
    amount_minor: int,
    currency: str,
) -> PaymentRequest:
    return await PaymentRequestRepository(session).add(
        PaymentRequest(
            user_id=user.id,
            product_id=product.id,
            method=method,
            status=PaymentRequestStatus.pending,
            amount_minor=amount_minor,
            currency=currency,
            attempt_id=ev.unique("attempt"),
        )
    )


async def assert_mismatched(session: AsyncSession, payment: Payment, buyer: User) -> None:
    assert payment.status is PaymentStatus.mismatched
    assert payment.failure_reason
    assert await granted(session, payment) == 0
    assert (await entitlements.current(session, buyer.id, utcnow())).tier is Tier.free
    alerts = await messages(session, ADMIN_CHAT, "admin_alert")
    assert len(alerts) == 1
    assert f"Payment {payment.id} " in alerts[0]
    assert await messages(session, buyer.telegram_id, "receipt") == []


@pytest.fixture
async def buyer(session: AsyncSession) -> User:
    return await create_user(session)


@pytest.fixture
async def product(session: AsyncSession) -> Product:
    return await create_product(session, price_amount_minor=1900, price_stars=1500)


@pytest.fixture
async def other_product(session: AsyncSession) -> Product:
    return await create_product(session, tier=Tier.vip, price_amount_minor=4900, price_stars=4000)


# -- Stripe ---------------------------------------------------------------------------------


def stripe_charge(user: User, code: str, **fields: Any) -> dict[str, Any]:
    meta = ev.metadata(user_id=user.id, product=code)
    if "request" in fields:
        meta[ATTEMPT_KEY] = fields.pop("request").attempt_id
    return ev.charge(meta=meta, payment_intent=ev.unique("pi"), **fields)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(1899, "usd"), (0, "usd"), (-1900, "usd"), (1900, "eur")],
    ids=["different-amount", "zero", "negative", "other-currency"],
)
async def test_a_stripe_charge_that_is_not_the_price_grants_nothing(
    session: AsyncSession,
    settings: Settings,
    buyer: User,
    product: Product,
    amount: int,
    currency: str,
) -> None:
    charge = stripe_charge(buyer, product.code, amount=amount, currency=currency)
    await deliver(session, settings, ev.event("charge.succeeded", charge))
    await assert_mismatched(session, await ledger(session, charge["payment_intent"]), buyer)


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(100, "usd"), (0, "usd"), (-1900, "usd"), (1900, "eur")],
    ids=["different-amount", "zero", "negative", "other-currency"],
)
async def test_a_stripe_checkout_that_is_not_the_price_grants_nothing(
    session: AsyncSession,
    settings: Settings,
    buyer: User,
    product: Product,
    amount: int,
    currency: str,
) -> None:
    meta = ev.metadata(user_id=buyer.id, product=product.code)
    intent = ev.unique("pi")
    checkout = ev.checkout_session(
        meta=meta, payment_intent=intent, amount_total=amount, currency=currency
    )
    await deliver(session, settings, ev.event("checkout.session.completed", checkout))
    await assert_mismatched(session, await ledger(session, intent), buyer)


async def test_a_stripe_payment_for_another_product_than_its_request_grants_nothing(
    session: AsyncSession,
    settings: Settings,
    buyer: User,
    product: Product,
    other_product: Product,
) -> None:
    request = await open_request(session, buyer, product, PaymentMethod.stripe, 1900, "USD")
    charge = stripe_charge(buyer, other_product.code, amount=1900, request=request)
    await deliver(session, settings, ev.event("charge.succeeded", charge))
    await assert_mismatched(session, await ledger(session, charge["payment_intent"]), buyer)
    # The webhook's own session changed it: read it again.
    await session.refresh(request)
    assert request.status is PaymentRequestStatus.failed


async def test_a_stripe_payment_at_the_price_of_its_checkout_grants_after_a_price_change(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    request = await open_request(session, buyer, product, PaymentMethod.stripe, 1900, "USD")
    product.price_amount_minor = 2500
    await session.flush()
    charge = stripe_charge(buyer, product.code, amount=1900, request=request)
    await deliver(session, settings, ev.event("charge.succeeded", charge))
    payment = await ledger(session, charge["payment_intent"])
    assert payment.status is PaymentStatus.succeeded
    assert payment.payment_request_id == request.id
    await session.refresh(request)
    assert request.status is PaymentRequestStatus.paid
    assert await granted(session, payment) == 1


async def test_a_stripe_payment_sends_the_same_receipt_as_stars(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    charge = stripe_charge(buyer, product.code, amount=1900)
    event = ev.event("charge.succeeded", charge)
    await deliver(session, settings, event)
    await deliver(session, settings, ev.event("charge.succeeded", charge))
    receipts = await messages(session, buyer.telegram_id, "receipt")
    assert len(receipts) == 1
    assert receipts[0].startswith("Payment received: Premium, 19.00 USD.")


async def test_a_stripe_refund_tells_the_payer(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    charge = stripe_charge(buyer, product.code, amount=1900)
    await deliver(session, settings, ev.event("charge.succeeded", charge))
    await deliver(
        session, settings, ev.event("charge.refunded", {**charge, "amount_refunded": 1900})
    )
    notices = await messages(session, buyer.telegram_id, "refund")
    assert len(notices) == 1
    audits = await session.scalar(
        select(func.count()).select_from(AuditLog).where(AuditLog.action == "payment.refunded")
    )
    assert audits == 1


# -- Telegram Stars -------------------------------------------------------------------------


async def pay_stars(
    session: AsyncSession,
    settings: Settings,
    payer: User,
    payload: str,
    amount: int,
    *,
    currency: str = "XTR",
) -> Payment:
    charge_id = ev.unique("stxCharge")
    result = await stars.record_successful_payment(
        session,
        settings,
        payer=payer,
        telegram_payment_charge_id=charge_id,
        provider_payment_charge_id=None,
        payload=payload,
        total_amount=amount,
        currency=currency,
        is_recurring=False,
        now=utcnow(),
    )
    return result.payment


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(1499, "XTR"), (0, "XTR"), (-1500, "XTR"), (1500, "USD")],
    ids=["different-amount", "zero", "negative", "other-currency"],
)
async def test_a_stars_payment_that_is_not_its_invoice_grants_nothing(
    session: AsyncSession,
    settings: Settings,
    buyer: User,
    product: Product,
    amount: int,
    currency: str,
) -> None:
    invoice = await stars.open_invoice(session, buyer, product.code)
    payment = await pay_stars(session, settings, buyer, invoice.payload, amount, currency=currency)
    await assert_mismatched(session, payment, buyer)
    assert invoice.request.status is PaymentRequestStatus.failed


async def test_a_stars_payment_for_another_product_than_its_invoice_grants_nothing(
    session: AsyncSession,
    settings: Settings,
    buyer: User,
    product: Product,
    other_product: Product,
) -> None:
    invoice = await stars.open_invoice(session, buyer, product.code)
    order = stars.InvoicePayload.decode(invoice.payload)
    forged = stars.InvoicePayload(other_product.code, buyer.id, order.payment_request_id)
    payment = await pay_stars(session, settings, buyer, forged.encode(), 1500)
    await assert_mismatched(session, payment, buyer)


async def test_a_stars_payment_of_its_invoice_grants_and_marks_the_request_paid(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    invoice = await stars.open_invoice(session, buyer, product.code)
    payment = await pay_stars(session, settings, buyer, invoice.payload, 1500)
    assert payment.status is PaymentStatus.succeeded
    assert invoice.request.status is PaymentRequestStatus.paid
    assert (await entitlements.current(session, buyer.id, utcnow())).tier is Tier.premium
    assert len(await messages(session, buyer.telegram_id, "receipt")) == 1


async def test_a_refused_stars_payment_is_audited_and_alerted_without_a_ledger_row(
    session: AsyncSession, settings: Settings, buyer: User, product: Product
) -> None:
    owner = await create_user(session)
    payload = stars.InvoicePayload(product.code, owner.id).encode()
    with pytest.raises(PaymentRefused) as refusal:
        await pay_stars(session, settings, buyer, payload, 1500)
    assert refusal.value.commit_transaction
    count = await session.scalar(
        select(func.count()).select_from(Payment).where(Payment.user_id == buyer.id)
    )
    assert count == 0
    refused = await session.scalar(select(AuditLog).where(AuditLog.action == "payment.refused"))
    assert refused is not None
    assert refused.user_id == buyer.id
    alerts = await messages(session, ADMIN_CHAT, "admin_alert")
    assert len(alerts) == 1
    assert f"issued to user {owner.id}" in alerts[0]
