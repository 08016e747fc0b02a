from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.kit.time import utcnow
from signalhub.models.base import Base, CreatedAtMixin, IdMixin, UTCDateTime, str_enum


class StripeEventStatus(StrEnum):
    pending = "pending"
    processed = "processed"
    failed = "failed"


class StripeEvent(IdMixin, CreatedAtMixin, Base):
    """Every verified Stripe event; `event_id` is unique: an event and its effects commit once."""

    __tablename__ = "stripe_events"
    __table_args__ = (
        Index("ix_stripe_events_type_created", "event_type", "created_at"),
        Index("ix_stripe_events_status", "status"),
        Index("ix_stripe_events_customer", "customer_id"),
    )

    event_id: Mapped[str] = mapped_column(String(255), unique=True, nullable=False)
    event_type: Mapped[str] = mapped_column(String(128), nullable=False)
    livemode: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    payment_method: Mapped[str | None] = mapped_column(String(64))
    customer_id: Mapped[str | None] = mapped_column(String(255))
    amount_minor: Mapped[int | None] = mapped_column(Integer)
    currency: Mapped[str | None] = mapped_column(String(3))
    status: Mapped[StripeEventStatus] = mapped_column(
        str_enum(StripeEventStatus), default=StripeEventStatus.pending, nullable=False
    )
    idempotency_key: Mapped[str | None] = mapped_column(String(255))
    processed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    error_message: Mapped[str | None] = mapped_column(Text)
    webhook_timestamp: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, nullable=False)
