from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import bindparam, delete, select, update

from signalhub.kit.repository import Repository
from signalhub.models import (
    IdempotencyKey,
    IdempotencyStatus,
    Payment,
    PaymentProvider,
    PaymentRequest,
    PaymentStatus,
    Product,
    User,
)

# Built once: every payment event takes the payer's lock.
_LOCK_USER = (
    select(User)
    .where(User.id == bindparam("user_id"))
    .with_for_update()
    .execution_options(populate_existing=True)
)


class PaymentRepository(Repository):
    async def lock_user(self, user_id: int) -> User | None:
        """Serialises work on one user's money (row lock on PostgreSQL; SQLite locks the file)."""
        return await self.session.scalar(_LOCK_USER, {"user_id": user_id})

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

    async def latest(
        self, status: PaymentStatus | None, limit: int
    ) -> Sequence[tuple[Payment, Product | None]]:
        statement = select(Payment, Product).outerjoin(Product, Product.id == Payment.product_id)
        if status is not None:
            statement = statement.where(Payment.status == status)
        result = await self.session.execute(
            statement.order_by(Payment.created_at.desc(), Payment.id.desc()).limit(limit)
        )
        return [(payment, product) for payment, product in result.all()]


class PaymentRequestRepository(Repository):
    async def add(self, request: PaymentRequest) -> PaymentRequest:
        self.session.add(request)
        await self.session.flush()
        return request

    async def get(self, request_id: int) -> PaymentRequest | None:
        return await self.session.get(PaymentRequest, request_id)

    async def get_by_attempt(self, attempt_id: str) -> PaymentRequest | None:
        return await self.session.scalar(
            select(PaymentRequest).where(PaymentRequest.attempt_id == attempt_id)
        )

    async def latest_payment(self, request_id: int) -> Payment | None:
        return await self.session.scalar(
            select(Payment)
            .where(Payment.payment_request_id == request_id)
            .order_by(Payment.created_at.desc(), Payment.id.desc())
            .limit(1)
        )


class IdempotencyKeyRepository(Repository):
    def _one(self, user_id: int, scope: str, key: str) -> Any:
        return (
            (IdempotencyKey.user_id == user_id)
            & (IdempotencyKey.scope == scope)
            & (IdempotencyKey.key == key)
        )

    async def get_for_update(self, user_id: int, scope: str, key: str) -> IdempotencyKey | None:
        return await self.session.scalar(
            select(IdempotencyKey)
            .where(self._one(user_id, scope, key))
            .with_for_update()
            .execution_options(populate_existing=True)
        )

    async def replace(self, claim: IdempotencyKey) -> bool:
        """Takes an expired key over; False when another request took it first."""
        await self.session.execute(
            delete(IdempotencyKey).where(self._one(claim.user_id, claim.scope, claim.key))
        )
        return await self.insert_if_absent(claim, "user_id", "scope", "key") is not None

    async def complete(
        self, user_id: int, scope: str, key: str, status_code: int, body: Any
    ) -> None:
        await self.session.execute(
            update(IdempotencyKey)
            .where(self._one(user_id, scope, key))
            .values(
                status=IdempotencyStatus.completed,
                response_status=status_code,
                response_body=body,
            )
        )

    async def release(self, user_id: int, scope: str, key: str) -> None:
        await self.session.execute(
            delete(IdempotencyKey).where(
                self._one(user_id, scope, key),
                IdempotencyKey.status == IdempotencyStatus.in_progress,
            )
        )

    async def delete_expired(self, now: datetime) -> int:
        result = await self.session.execute(
            delete(IdempotencyKey).where(IdempotencyKey.expires_at <= now)
        )
        return int(getattr(result, "rowcount", 0) or 0)
