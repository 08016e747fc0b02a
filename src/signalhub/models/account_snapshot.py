from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from sqlalchemy import BigInteger, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, BigIntId, BrokerDecimal, IdMixin, UTCDateTime, str_enum


class SnapshotSource(StrEnum):
    ea_bridge = "ea_bridge"
    simulated = "simulated"
    mt5_terminal = "mt5_terminal"


class PositionType(StrEnum):
    """MetaTrader 5's POSITION_TYPE_BUY (0) and POSITION_TYPE_SELL (1)."""

    buy = "buy"
    sell = "sell"


class AccountInfo(IdMixin, Base):
    """The latest snapshot of one linked account, as the broker reported it (figures are stored as
    reported, even negative ones); its open positions are `account_positions` rows."""

    __tablename__ = "account_info"

    account_link_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("account_links.id", ondelete="CASCADE"), unique=True, nullable=False
    )
    device_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("devices.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[SnapshotSource] = mapped_column(str_enum(SnapshotSource), nullable=False)
    balance: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    equity: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    margin: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    margin_free: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    margin_level: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    profit: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    drawdown_percent: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    positions_count: Mapped[int] = mapped_column(Integer, nullable=False)
    as_of: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)


class AccountPosition(IdMixin, Base):
    """One open position of the latest snapshot; the fields are MetaTrader 5's positions_get()."""

    __tablename__ = "account_positions"
    __table_args__ = (UniqueConstraint("account_link_id", "ticket"),)

    account_link_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("account_links.id", ondelete="CASCADE"), nullable=False
    )
    ticket: Mapped[int] = mapped_column(BigInteger, nullable=False)
    symbol: Mapped[str] = mapped_column(String(32), nullable=False)
    type: Mapped[PositionType] = mapped_column(str_enum(PositionType), nullable=False)
    volume: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    price_open: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    price_current: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    sl: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    tp: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    profit: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    swap: Mapped[Decimal] = mapped_column(BrokerDecimal(), nullable=False)
    commission: Mapped[Decimal | None] = mapped_column(BrokerDecimal())
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    magic: Mapped[int] = mapped_column(BigInteger, nullable=False)
    comment: Mapped[str] = mapped_column(String(64), nullable=False)
