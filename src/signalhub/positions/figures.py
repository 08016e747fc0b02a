"""P&L and drawdown, exactly (Decimal), from the broker's own figures."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from signalhub.positions.records import PositionRecord

ZERO = Decimal(0)
PERCENT_PLACES = Decimal("0.01")


def position_pnl(position: PositionRecord) -> Decimal:
    """Profit + swap (+ commission when the broker reports it), in the account's currency."""
    return position.profit + position.swap + (position.commission or ZERO)


def drawdown_percent(balance: Decimal, equity: Decimal) -> Decimal:
    """(balance - equity) / balance * 100 when equity < balance, else 0; to 0.01 %. A balance of
    zero or less has no meaningful drawdown and reads 0."""
    if balance <= ZERO or equity >= balance:
        return ZERO.quantize(PERCENT_PLACES)
    return ((balance - equity) / balance * 100).quantize(PERCENT_PLACES, rounding=ROUND_HALF_UP)


@dataclass(frozen=True)
class Totals:
    profit: Decimal
    swap: Decimal
    commission: Decimal
    pnl: Decimal


def totals(positions: Iterable[PositionRecord]) -> Totals:
    profit = swap = commission = ZERO
    for position in positions:
        profit += position.profit
        swap += position.swap
        commission += position.commission or ZERO
    return Totals(profit, swap, commission, profit + swap + commission)
