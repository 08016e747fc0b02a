from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    PlainSerializer,
    ValidationInfo,
    field_validator,
)

from signalhub.kit.schemas import Text
from signalhub.models import (
    ApprovalChannel,
    ApprovalStatus,
    OrderType,
    SignalSide,
    SignalStatus,
    Tier,
)
from signalhub.models.signal import PRICE_DIGITS, PRICE_SCALE

DEFAULT_TTL_S = 15 * 60
MAX_TTL_S = 24 * 3600
MIN_TTL_S = 60
MAX_TAKE_PROFITS = 5
SYMBOL_PATTERN = r"^[A-Za-z0-9._-]{1,32}$"

Price = Annotated[Decimal, Field(gt=0, max_digits=PRICE_DIGITS, decimal_places=PRICE_SCALE)]


def price_text(price: Decimal) -> str:
    """`1.08500000` as stored reads `1.085`."""
    return format(price.normalize(), "f")


# Prices leave the API as decimal strings: exact, unlike JSON numbers in JavaScript.
PriceOut = Annotated[Decimal, PlainSerializer(price_text, return_type=str)]


class SignalCreate(BaseModel):
    """A buy keeps its stop loss below the entry and every take profit above it; a sell the
    reverse. Fields are checked in declaration order, so each rule names its own field."""

    model_config = ConfigDict(extra="forbid")

    symbol: str = Field(pattern=SYMBOL_PATTERN, examples=["EURUSD", "XAUUSD", "US30.cash"])
    side: SignalSide
    order_type: OrderType = OrderType.market
    entry_price: Price = Field(description="The order price; for market orders the reference.")
    stop_loss: Price
    take_profits: list[Price] = Field(min_length=1, max_length=MAX_TAKE_PROFITS)
    note: Text | None = Field(default=None, max_length=500)
    min_tier: Tier = Tier.premium
    expires_in_s: int = Field(default=DEFAULT_TTL_S, ge=MIN_TTL_S, le=MAX_TTL_S)

    @field_validator("stop_loss")
    @classmethod
    def _stop_loss_on_the_losing_side(cls, stop_loss: Decimal, info: ValidationInfo) -> Decimal:
        side, entry = info.data.get("side"), info.data.get("entry_price")
        if side is SignalSide.buy and entry is not None and stop_loss >= entry:
            raise ValueError(f"for a buy the stop loss must be below the entry price {entry}")
        if side is SignalSide.sell and entry is not None and stop_loss <= entry:
            raise ValueError(f"for a sell the stop loss must be above the entry price {entry}")
        return stop_loss

    @field_validator("take_profits")
    @classmethod
    def _take_profits_on_the_winning_side(
        cls, take_profits: list[Decimal], info: ValidationInfo
    ) -> list[Decimal]:
        side, entry = info.data.get("side"), info.data.get("entry_price")
        if entry is None:
            return take_profits
        for level in take_profits:
            if side is SignalSide.buy and level <= entry:
                raise ValueError(f"for a buy every take profit must be above the entry {entry}")
            if side is SignalSide.sell and level >= entry:
                raise ValueError(f"for a sell every take profit must be below the entry {entry}")
        return take_profits


class SignalOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    symbol: str
    side: SignalSide
    order_type: OrderType
    entry_price: PriceOut
    stop_loss: PriceOut
    take_profits: list[PriceOut]
    note: str | None
    min_tier: Tier
    status: SignalStatus
    expires_at: datetime
    created_at: datetime


class ApprovalCounts(BaseModel):
    targeted: int = 0
    pending: int = 0
    approved: int = 0
    rejected: int = 0
    expired: int = Field(default=0, description="Offered but undecided when the signal expired.")
    cancelled: int = 0


class AdminSignalOut(SignalOut):
    cancelled_at: datetime | None
    fanout_finished_at: datetime | None
    counts: ApprovalCounts


class AdminSignalPage(BaseModel):
    items: list[AdminSignalOut]
    next_before: int | None = Field(description="Pass as `before` for the next, older page.")


class ApprovalOut(BaseModel):
    id: int
    status: ApprovalStatus
    decided_at: datetime | None
    decided_via: ApprovalChannel | None
    created_at: datetime
    seconds_left: int = Field(description="Until the signal expires; 0 once it has.")
    signal: SignalOut


class ApprovalPage(BaseModel):
    items: list[ApprovalOut]
    next_before: int | None = Field(description="Pass as `before` for the next, older page.")
