from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, BigIntId, BrokerDecimal, IdMixin, UTCDateTime, str_enum


class EaDeliveryStatus(StrEnum):
    # Handed to the device by a poll, not acknowledged yet.
    taken = "taken"
    executed = "executed"
    failed = "failed"
    skipped = "skipped"


class EaDelivery(IdMixin, Base):
    """One approved signal handed to one device, and what the device reported. Unique per
    approval and device: the first ack wins. Until then the hand-over is leased: once
    `lease_until` has passed the signal is offered to the device again (its answer or the ack
    was lost), so the device acts on each signal exactly once by approval id."""

    __tablename__ = "ea_deliveries"
    __table_args__ = (UniqueConstraint("approval_id", "device_id"),)

    approval_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("approvals.id", ondelete="CASCADE"), nullable=False
    )
    device_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("devices.id", ondelete="CASCADE"), index=True, nullable=False
    )
    status: Mapped[EaDeliveryStatus] = mapped_column(
        str_enum(EaDeliveryStatus), default=EaDeliveryStatus.taken, nullable=False
    )
    # The first hand-over; a re-offer renews only the lease.
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    # Set while taken, cleared by the ack: an acknowledged delivery is never offered again.
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    acked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    ticket: Mapped[int | None] = mapped_column(BigInteger)
    price: Mapped[Decimal | None] = mapped_column(BrokerDecimal())
    volume: Mapped[Decimal | None] = mapped_column(BrokerDecimal())
    error: Mapped[str | None] = mapped_column(String(500))
