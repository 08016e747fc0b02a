from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import (
    BigInteger,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, BigIntId, IdMixin, TimestampMixin, UTCDateTime, str_enum


class AccountLinkStatus(StrEnum):
    pending = "pending"
    verified = "verified"
    unlinked = "unlinked"


class TradeMode(StrEnum):
    """MetaTrader 5's ACCOUNT_TRADE_MODE_*: 0 demo, 1 contest, 2 real."""

    demo = "demo"
    contest = "contest"
    real = "real"


class AccountLink(IdMixin, TimestampMixin, Base):
    """A trader's claim to an MT5 account (login + server). No password ever: a signed device of
    the same user proves it by reporting a snapshot of that account."""

    __tablename__ = "account_links"
    __table_args__ = (
        UniqueConstraint("user_id", "mt5_login", "server"),
        # Exactly one primary per user, held by the database under concurrent verifications.
        Index(
            "uq_account_links_primary_per_user",
            "user_id",
            unique=True,
            postgresql_where=text("is_primary"),
            sqlite_where=text("is_primary"),
        ),
    )

    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    mt5_login: Mapped[int] = mapped_column(BigInteger, nullable=False)
    server: Mapped[str] = mapped_column(String(64), nullable=False)
    company: Mapped[str | None] = mapped_column(String(128))
    currency: Mapped[str | None] = mapped_column(String(16))
    leverage: Mapped[int | None] = mapped_column(Integer)
    trade_mode: Mapped[TradeMode | None] = mapped_column(str_enum(TradeMode))
    is_primary: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    status: Mapped[AccountLinkStatus] = mapped_column(
        str_enum(AccountLinkStatus), default=AccountLinkStatus.pending, nullable=False
    )
    pairing_code: Mapped[str] = mapped_column(String(16), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    verified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    verified_by_device_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("devices.id", ondelete="SET NULL")
    )
    unlinked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
