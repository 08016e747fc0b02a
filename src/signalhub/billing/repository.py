from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import select

from signalhub.kit.repository import Repository
from signalhub.models import Payment, PaymentProvider, PaymentRequest, Product, User


class PaymentRepository(Repository):
    async def lock_user(self, user_id: int) -> User | None:
        """Serialises work on one user's money (row lock on PostgreSQL; SQLite locks the file)."""
        return await self.session.scalar(
            select(User)
            .where(User.id == user_id)
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def get_by_provider_id(
        self, provider: PaymentProvider, provider_payment_id: str
    ) -> Payment | None:
        return await self.session.scalar(
            select(Payment)
            .where(Payment.provider == provider, Payment.provider_payment_id == provider_payment_id)
            .execution_options(populate_existing=True)
        )

    async def add_if_new(self, payment: Payment) -> Payment | None:
        """None when the provider's id is already in the ledger (the unique index decides)."""
        return await self.insert_if_absent(payment, "provider", "provider_payment_id")

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


class PaymentRequestRepository(Repository):
    async def add(self, request: PaymentRequest) -> PaymentRequest:
        self.session.add(request)
        await self.session.flush()
        return request

    async def get(self, request_id: int) -> PaymentRequest | None:
        return await self.session.get(PaymentRequest, request_id)

    async def latest_payment(self, request_id: int) -> Payment | None:
        return await self.session.scalar(
            select(Payment)
            .where(Payment.payment_request_id == request_id)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .limit(1)
        )
