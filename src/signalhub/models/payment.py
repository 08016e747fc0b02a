from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, BigIntId, IdMixin, TimestampMixin, str_enum


class PaymentProvider(StrEnum):
    stripe = "stripe"
    telegram_stars = "telegram_stars"


class PaymentStatus(StrEnum):
    pending = "pending"
    succeeded = "succeeded"
    failed = "failed"
    refunded = "refunded"
    disputed = "disputed"
    # Paid, but not what was sold (amount, currency or product): nothing is granted.
    mismatched = "mismatched"


class Payment(IdMixin, TimestampMixin, Base):
    """The ledger for both providers; `provider_payment_id` is the Stripe PaymentIntent/charge
    or the Telegram payment charge id, unique per provider."""

    __tablename__ = "payments"
    __table_args__ = (UniqueConstraint("provider", "provider_payment_id"),)

    provider: Mapped[PaymentProvider] = mapped_column(str_enum(PaymentProvider, 32), nullable=False)
    provider_payment_id: Mapped[str] = mapped_column(String(255), nullable=False)
    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="RESTRICT"), index=True, nullable=False
    )
    product_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("products.id", ondelete="RESTRICT")
    )
    # The payment request this payment answers. No foreign key: adding one to the existing
    # ledger would mean rebuilding it on SQLite; requests are never deleted.
    payment_request_id: Mapped[int | None] = mapped_column(BigIntId, index=True)
    amount_minor: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    status: Mapped[PaymentStatus] = mapped_column(
        str_enum(PaymentStatus), nullable=False, index=True
    )
    refunded_amount_minor: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    is_recurring: Mapped[bool] = mapped_column(default=False, nullable=False)
    failure_reason: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
