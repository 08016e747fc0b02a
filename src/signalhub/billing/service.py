from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.billing.repository import PaymentRepository
from signalhub.billing.schemas import BillingOut, PaymentOut
from signalhub.entitlements import service as entitlements

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
                provider=payment.provider,
                product_code=product.code if product else None,
                product_name=product.name if product else None,
                amount_minor=payment.amount_minor,
                currency=payment.currency,
                status=payment.status,
                created_at=payment.created_at,
            )
            for payment, product in rows
        ],
    )
