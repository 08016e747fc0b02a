from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, Boolean, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, IdMixin, TimestampMixin, str_enum


class Tier(StrEnum):
    """Declared in rank order: a higher tier includes everything a lower one gives."""

    free = "free"
    premium = "premium"
    vip = "vip"
    enterprise = "enterprise"

    @property
    def rank(self) -> int:
        return list(Tier).index(self)

    def and_above(self) -> list[Tier]:
        """The tiers that include this one."""
        return [tier for tier in Tier if tier.rank >= self.rank]


class Product(IdMixin, TimestampMixin, Base):
    __tablename__ = "products"

    code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    name: Mapped[str] = mapped_column(String(128), nullable=False)
    description: Mapped[str] = mapped_column(Text, default="", nullable=False)
    tier: Mapped[Tier] = mapped_column(str_enum(Tier), nullable=False)
    duration_days: Mapped[int] = mapped_column(Integer, nullable=False)
    # The card price (Stripe); Stars have no minor unit, so their price is a whole number of XTR.
    price_amount_minor: Mapped[int] = mapped_column(Integer, nullable=False)
    price_currency: Mapped[str] = mapped_column(
        String(3), default="USD", server_default="USD", nullable=False
    )
    price_stars: Mapped[int] = mapped_column(Integer, nullable=False)
    features: Mapped[list[Any]] = mapped_column(JSON, default=list, nullable=False)
    is_active: Mapped[bool] = mapped_column(Boolean, default=True, nullable=False)
