from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import JSON, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import (
    BROKER_DECIMAL_PLACES,
    Base,
    BigIntId,
    BrokerDecimal,
    IdMixin,
    TimestampMixin,
    UTCDateTime,
    str_enum,
)
from signalhub.models.product import Tier

# Room for index points (US30 ~ 40,000) and 5-digit FX quotes; stored exactly (BrokerDecimal).
PRICE_DIGITS = 15
PRICE_SCALE = BROKER_DECIMAL_PLACES


class SignalSide(StrEnum):
    buy = "buy"
    sell = "sell"


class OrderType(StrEnum):
    market = "market"
    limit = "limit"
    stop = "stop"


class SignalStatus(StrEnum):
    active = "active"
    expired = "expired"
    cancelled = "cancelled"


class Signal(IdMixin, TimestampMixin, Base):
    """An operator's trade idea, offered to every trader whose tier reaches `min_tier` until
    `expires_at`. `fanout_cursor` is the last user id the fan-out job has covered, so a crashed
    fan-out resumes where it stopped; `fanout_finished_at` is set when everyone was covered."""

    __tablename__ = "signals"
    __table_args__ = (Index("ix_signals_status_expires", "status", "expires_at"),)

    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    side: Mapped[SignalSide] = mapped_column(str_enum(SignalSide), nullable=False)
    order_type: Mapped[OrderType] = mapped_column(str_enum(OrderType), nullable=False)
    entry_price: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    stop_loss: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    # Decimal strings, nearest target first.
    take_profits: Mapped[list[str]] = mapped_column(JSON, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)
    min_tier: Mapped[Tier] = mapped_column(str_enum(Tier), nullable=False)
    status: Mapped[SignalStatus] = mapped_column(
        str_enum(SignalStatus), default=SignalStatus.active, nullable=False
    )
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    created_by_user_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL")
    )
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    fanout_cursor: Mapped[int] = mapped_column(BigIntId, default=0, nullable=False)
    fanout_finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
