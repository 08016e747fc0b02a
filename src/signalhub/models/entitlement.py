from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, BigIntId, CreatedAtMixin, IdMixin, UTCDateTime, str_enum
from signalhub.models.product import Tier


class Entitlement(IdMixin, CreatedAtMixin, Base):
    """One row per paid period. `payment_id` is unique, so granting twice for one payment is
    impossible even under concurrency; purchases of a tier chain one after another."""

    __tablename__ = "entitlements"
    __table_args__ = (Index("ix_entitlements_user_tier_expiry", "user_id", "tier", "expires_at"),)

    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="RESTRICT"), nullable=False
    )
    product_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("products.id", ondelete="RESTRICT"), nullable=False
    )
    payment_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("payments.id", ondelete="RESTRICT"), unique=True, nullable=False
    )
    tier: Mapped[Tier] = mapped_column(str_enum(Tier), nullable=False)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    revoke_reason: Mapped[str | None] = mapped_column(String(64))
