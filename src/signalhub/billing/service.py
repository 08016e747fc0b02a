from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit import service as audit
from signalhub.billing.repository import PaymentRepository
from signalhub.billing.schemas import BillingOut, PaymentOut
from signalhub.entitlements import service as entitlements
from signalhub.models import Payment, PaymentProvider, PaymentStatus
from signalhub.users import service as users

RECENT_PAYMENTS = 5


async def overview(session: AsyncSession, user_id: int, now: datetime) -> BillingOut:
    current = await entitlements.current(session, user_id, now)
    rows = await PaymentRepository(session).recent_for_user(user_id, RECENT_PAYMENTS)
    return BillingOut(
        tier=current.tier,
        expires_at=current.expires_at,
        payments=[
            PaymentOut(
                id=payment.id,
                provider=PaymentProvider(payment.provider),
                product_code=product.code if product else None,
                product_name=product.name if product else None,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                status=PaymentStatus(payment.status),
                created_at=payment.created_at,
            )
            for payment, product in rows
        ],
    )


async def record_payment(
    session: AsyncSession,
    *,
    provider: PaymentProvider,
    provider_payment_id: str,
    user_id: int,
    product_id: int | None,
    amount_minor: int,
    currency: str,
    status: PaymentStatus,
    now: datetime,
    details: dict[str, Any] | None = None,
    is_recurring: bool = False,
    failure_reason: str | None = None,
) -> tuple[Payment, bool]:
    """Puts a provider's payment in the ledger once; returns the row and whether it is new."""
    await users.lock_money(session, user_id)
    repository = PaymentRepository(session)
    created = await repository.insert_if_absent(
        Payment(
            provider=provider,
            provider_payment_id=provider_payment_id,
            user_id=user_id,
            product_id=product_id,
            amount_minor=amount_minor,
            currency=currency,
            status=status,
            is_recurring=is_recurring,
            failure_reason=failure_reason,
            details=details or {},
            created_at=now,
        )
    )
    payment = await repository.get_by_provider_id(provider, provider_payment_id)
    assert payment is not None
    if created:
        await audit.record(
            session,
            "payment.recorded",
            subject_type="payment",
            subject_id=payment.id,
            user_id=user_id,
            data={
                "provider": provider,
                "provider_payment_id": provider_payment_id,
                "amount_minor": amount_minor,
                "currency": currency,
                "status": status,
            },
        )
    return payment, created


async def find_payment(
    session: AsyncSession, provider: PaymentProvider, provider_payment_id: str
) -> Payment | None:
    return await PaymentRepository(session).get_by_provider_id(provider, provider_payment_id)


async def set_status(
    session: AsyncSession, payment: Payment, status: PaymentStatus, reason: str | None = None
) -> None:
    previous = payment.status
    payment.status = status
    if reason is not None:
        payment.failure_reason = reason
    await session.flush()
    await audit.record(
        session,
        "payment.status_changed",
        subject_type="payment",
        subject_id=payment.id,
        user_id=payment.user_id,
        data={"from": previous, "to": status, "reason": reason},
    )


async def set_refunded_amount(session: AsyncSession, payment: Payment, amount_minor: int) -> None:
    """Refunds are cumulative: the amount given is the total refunded so far."""
    previous = payment.refunded_amount_minor
    payment.refunded_amount_minor = amount_minor
    await session.flush()
    await audit.record(
        session,
        "payment.refunded_amount_changed",
        subject_type="payment",
        subject_id=payment.id,
        user_id=payment.user_id,
        data={"from": previous, "to": amount_minor, "currency": payment.currency},
    )
