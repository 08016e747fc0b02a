from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field

from signalhub.models import Tier


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

    code: str = Field(pattern=r"^[a-z0-9_]{2,64}$")
    name: str = Field(min_length=1, max_length=128)
    description: str = Field(default="", max_length=2000)
    tier: Tier
    duration_days: int = Field(gt=0, le=3660)
    price_amount_minor: int = Field(gt=0, le=100_000_000)
    price_currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    price_stars: int = Field(gt=0, le=100_000)
    features: list[str] = Field(default_factory=list, max_length=50)
    is_active: bool = True


class ProductUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=128)
    description: str | None = Field(default=None, max_length=2000)
    duration_days: int | None = Field(default=None, gt=0, le=3660)
    price_amount_minor: int | None = Field(default=None, gt=0, le=100_000_000)
    price_currency: str | None = Field(default=None, pattern=r"^[A-Z]{3}$")
    price_stars: int | None = Field(default=None, gt=0, le=100_000)
    features: list[str] | None = Field(default=None, max_length=50)
    is_active: bool | None = None
