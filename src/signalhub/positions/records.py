"""Broker records: the fields of MetaTrader 5's own `account_info()` and `positions_get()`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from signalhub.models import PositionType, SnapshotSource, TradeMode


class BrokerUnavailable(Exception):
    """The gateway cannot answer for this account now (no snapshot yet, terminal down)."""


@dataclass(frozen=True)
class AccountRecord:
    """The fields of MetaTrader5.account_info() we keep."""

    login: int
    server: str
    company: str
    currency: str
    leverage: int
    trade_mode: TradeMode
    balance: Decimal
    equity: Decimal
    margin: Decimal
    margin_free: Decimal
    margin_level: Decimal
    profit: Decimal


@dataclass(frozen=True)
class PositionRecord:
    """The fields of one MetaTrader5.positions_get() entry; `commission` only when reported."""

    ticket: int
    symbol: str
    type: PositionType
    volume: Decimal
    price_open: Decimal
    price_current: Decimal
    sl: Decimal
    tp: Decimal
    profit: Decimal
    swap: Decimal
    time: datetime
    magic: int
    comment: str
    commission: Decimal | None = None


@dataclass(frozen=True)
class BrokerSnapshot:
    account: AccountRecord
    positions: tuple[PositionRecord, ...]
    as_of: datetime
    source: SnapshotSource


@dataclass(frozen=True)
class AccountRef:
    """Which account to read: the link (for stored snapshots) and its login on its server."""

    link_id: int
    login: int
    server: str
