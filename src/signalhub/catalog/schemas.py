from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from signalhub.kit.schemas import Flag, Text
from signalhub.models import Tier

PRODUCT_CODE_PATTERN = r"^[a-z0-9_]{2,64}$"
# What a product can sell: every tier but the free one, which everyone has.
PaidTier = Literal[Tier.premium, Tier.vip, Tier.enterprise]
Feature = Annotated[Text, Field(min_length=1, max_length=200)]


class ProductOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    code: str
    name: str
    description: str
    tier: Tier
    duration_days: int
    price_amount_minor: int
    price_currency: str
    price_stars: int
    features: list[str]
    is_active: bool


class ProductCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=PRODUCT_CODE_PATTERN)
    name: Text = Field(min_length=1, max_length=128)
    description: Text = Field(default="", max_length=2000)
    tier: PaidTier
    duration_days: int = Field(gt=0, le=3660)
    price_amount_minor: int = Field(gt=0, le=100_000_000)
    price_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    price_stars: int = Field(gt=0, le=100_000)
    features: list[Feature] = Field(default_factory=list, max_length=50)
    is_active: Flag = True


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Text | None = Field(default=None, min_length=1, max_length=128)
    description: Text | None = Field(default=None, max_length=2000)
    duration_days: int | None = Field(default=None, gt=0, le=3660)
    price_amount_minor: int | None = Field(default=None, gt=0, le=100_000_000)
    price_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    price_stars: int | None = Field(default=None, gt=0, le=100_000)
    features: list[Feature] | None = Field(default=None, max_length=50)
    is_active: Flag | None = None


class CatalogFile(BaseModel):
    """`signalhub catalog apply catalog.yaml`: the whole catalog, one entry per product code."""

    model_config = ConfigDict(extra="forbid")

    products: list[ProductCreate] = Field(max_length=1000)

    @field_validator("products")
    @classmethod
    def _codes_are_unique(cls, products: list[ProductCreate]) -> list[ProductCreate]:
        codes = [product.code for product in products]
        repeated = sorted({code for code in codes if codes.count(code) > 1})
        if repeated:
            raise ValueError(f"product codes appear more than once: {', '.join(repeated)}")
        return products
