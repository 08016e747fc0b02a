"""Marketing broadcasts: a template, a broadcast of it to a segment, one delivery row per
recipient (the seed's `broadcast_analytics`) and one click row per recipient and button."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Enum,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, BigIntId, CreatedAtMixin, IdMixin, UTCDateTime


class BroadcastStatus(StrEnum):
    draft = "draft"
    scheduled = "scheduled"
    sending = "sending"
    sent = "sent"
    cancelled = "cancelled"
    failed = "failed"


class DeliveryStatus(StrEnum):
    """`pending` until fanned out into the outbox, `queued` until the sender's outcome is copied
    back; the rest are final."""

    pending = "pending"
    queued = "queued"
    delivered = "delivered"
    failed = "failed"
    blocked = "blocked"
    skipped = "skipped"
    cancelled = "cancelled"


def _enum(enum: type[StrEnum]) -> Enum:
    return Enum(enum, native_enum=False, length=16, validate_strings=True)


class BroadcastTemplate(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "broadcast_templates"

    title: Mapped[str] = mapped_column(String(128), nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    photo_url: Mapped[str | None] = mapped_column(String(1024))
    # [{"text": ..., "url": ...} | {"text": ..., "startapp": ...}], at most 3, one per row.
    buttons: Mapped[list[Any]] = mapped_column(JSON, default=list, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
    created_by: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL")
    )


class Broadcast(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "broadcasts"
    __table_args__ = (Index("ix_broadcasts_status_scheduled_at", "status", "scheduled_at"),)

    template_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("broadcast_templates.id", ondelete="RESTRICT"), nullable=False
    )
    segment: Mapped[str] = mapped_column(String(32), nullable=False)
    language: Mapped[str | None] = mapped_column(String(16))
    status: Mapped[BroadcastStatus] = mapped_column(_enum(BroadcastStatus), nullable=False)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_by: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL")
    )
    targeted_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    delivered_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    failed_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    cancelled_count: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    failure_reason: Mapped[str | None] = mapped_column(String(256))
    # The admin's "Broadcast #N: 40 %" message (an outbox row), edited as sending progresses.
    progress_outbox_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("outbox.id", ondelete="SET NULL")
    )
    progress_tenths: Mapped[int] = mapped_column(Integer, default=0, nullable=False)


class BroadcastDelivery(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "broadcast_deliveries"
    __table_args__ = (
        UniqueConstraint("broadcast_id", "user_id"),
        Index("ix_broadcast_deliveries_broadcast_status", "broadcast_id", "status"),
    )

    broadcast_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("broadcasts.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[DeliveryStatus] = mapped_column(_enum(DeliveryStatus), nullable=False)
    outbox_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("outbox.id", ondelete="SET NULL"), unique=True
    )
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    failed_reason: Mapped[str | None] = mapped_column(Text)
    clicked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class BroadcastClick(IdMixin, Base):
    """First click per recipient and button; later clicks change nothing."""

    __tablename__ = "broadcast_clicks"
    __table_args__ = (UniqueConstraint("delivery_id", "button"),)

    delivery_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("broadcast_deliveries.id", ondelete="CASCADE"), nullable=False
    )
    button: Mapped[int] = mapped_column(Integer, nullable=False)
    clicked_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
