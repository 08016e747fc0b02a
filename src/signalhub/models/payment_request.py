from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import (
    Base,
    BigIntId,
    IdMixin,
    TimestampMixin,
    UTCDateTime,
    str_enum,
)


class PaymentMethod(StrEnum):
    stars = "stars"
    stripe = "stripe"


class PaymentRequestStatus(StrEnum):
    pending = "pending"
    paid = "paid"
    cancelled = "cancelled"
    failed = "failed"
    expired = "expired"


class PaymentRequest(IdMixin, TimestampMixin, Base):
    """One attempt to buy a product: the Stars invoice or Stripe Checkout Session made for it,
    and the price it was offered at, which the payment is later checked against."""

    __tablename__ = "payment_requests"

    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="RESTRICT"), index=True, nullable=False
    )
    product_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("products.id", ondelete="RESTRICT"), nullable=False
    )
    method: Mapped[PaymentMethod] = mapped_column(str_enum(PaymentMethod), nullable=False)
    status: Mapped[PaymentRequestStatus] = mapped_column(
        str_enum(PaymentRequestStatus), nullable=False
    )
    amount_minor: Mapped[int] = mapped_column(Integer, nullable=False)
    currency: Mapped[str] = mapped_column(String(3), nullable=False)
    is_subscription: Mapped[bool] = mapped_column(default=False, nullable=False)
    # Derived from the client's Idempotency-Key: a retried request reaches Stripe with the same
    # idempotency key and the same metadata, which names this attempt, not a row id.
    attempt_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    invoice_link: Mapped[str | None] = mapped_column(Text)
    checkout_session_id: Mapped[str | None] = mapped_column(String(255), unique=True)
    checkout_url: Mapped[str | None] = mapped_column(Text)
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
