from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from signalhub.kit.repository import Repository
from signalhub.models import Payment, Product


class PaymentRepository(Repository):
    async def get_by_provider_id(self, provider: str, provider_payment_id: str) -> Payment | None:
        return await self.session.scalar(
            select(Payment).where(
                Payment.provider == provider, Payment.provider_payment_id == provider_payment_id
            )
        )

    async def insert_if_absent(self, payment: Payment) -> bool:
        """False when the provider's id is already in the ledger (the unique index decides)."""
        statement = self.insert_ignoring_conflicts(
            Payment, ["provider", "provider_payment_id"]
        ).values(
            provider=payment.provider,
            provider_payment_id=payment.provider_payment_id,
            user_id=payment.user_id,
            product_id=payment.product_id,
            amount_minor=payment.amount_minor,
            currency=payment.currency,
            status=payment.status,
            refunded_amount_minor=payment.refunded_amount_minor or 0,
            is_recurring=bool(payment.is_recurring),
            failure_reason=payment.failure_reason,
            details=payment.details or {},
            created_at=payment.created_at,
            updated_at=payment.created_at,
        )
        result = await self.session.execute(statement)
        return bool(getattr(result, "rowcount", 0))

    async def recent_for_user(
        self, user_id: int, limit: int
    ) -> Sequence[tuple[Payment, Product | None]]:
        result = await self.session.execute(
            select(Payment, Product)
            .outerjoin(Product, Product.id == Payment.product_id)
            .where(Payment.user_id == user_id)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .limit(limit)
        )
        return [(payment, product) for payment, product in result.all()]
