from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from pydantic import BaseModel, Field

from signalhub.models import PositionType, SnapshotSource, TradeMode


class AccountFiguresOut(BaseModel):
    login: int
    server: str
    company: str
    currency: str
    leverage: int
    trade_mode: TradeMode
    balance: Decimal
    equity: Decimal
    margin: Decimal
    free_margin: Decimal
    margin_level: Decimal = Field(description="Equity / margin × 100, as the broker reports it.")
    drawdown_percent: Decimal = Field(
        description="(balance − equity) / balance × 100 when equity < balance, else 0 "
        "(also 0 when the balance is not positive); rounded half up to 0.01."
    )


class PositionOut(BaseModel):
    ticket: int
    symbol: str
    type: PositionType
    volume: Decimal
    price_open: Decimal
    price_current: Decimal
    sl: Decimal = Field(description="Stop loss price; 0 when none is set (MetaTrader's way).")
    tp: Decimal = Field(description="Take profit price; 0 when none is set.")
    profit: Decimal
    swap: Decimal
    commission: Decimal | None = Field(description="Only when the broker reports it.")
    pnl: Decimal = Field(description="profit + swap (+ commission), in the account's currency.")
    opened_at: datetime
    magic: int
    comment: str


class TotalsOut(BaseModel):
    """Exact sums over `positions` (Decimal arithmetic)."""

    profit: Decimal
    swap: Decimal
    commission: Decimal
    pnl: Decimal


class PositionsOut(BaseModel):
    account: AccountFiguresOut
    positions: list[PositionOut]
    totals: TotalsOut
    as_of: datetime = Field(description="When the broker's figures were taken.")
    stale: bool = Field(
        description="True when the broker did not answer in time (this is the last snapshot) "
        "or the snapshot is older than the configured limit."
    )
    source: SnapshotSource
