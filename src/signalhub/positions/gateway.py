"""Where account figures and open positions come from. The records mirror MetaTrader 5's own
`account_info()` and `positions_get()` so every gateway speaks the terminal's language:

- `ea_bridge` (default): a signed device pushes snapshots (`POST /api/v1/ea/snapshot`); reading
  returns the latest one stored. No password ever reaches us.
- `simulated`: a seeded random walk, for the demo, tests and `signalhub device run`.
- `mt5_terminal`: the `MetaTrader5` package on a Windows host with a logged-in terminal (the
  optional `mt5` extra), imported only when this gateway is chosen.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Protocol

from signalhub.config import BrokerGatewayName
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import PositionType, SnapshotSource, TradeMode
from signalhub.positions.records import (
    AccountRecord,
    AccountRef,
    BrokerSnapshot,
    BrokerUnavailable,
    PositionRecord,
)
from signalhub.positions.repository import SnapshotRepository

CENT = Decimal("0.01")


class BrokerGateway(Protocol):
    source: SnapshotSource

    async def read(self, account: AccountRef) -> BrokerSnapshot:
        """The account's figures and open positions now; raises BrokerUnavailable."""
        ...


class EABridgeGateway:
    """Reads the latest snapshot a device pushed; the push itself goes through the EA API."""

    source = SnapshotSource.ea_bridge

    def __init__(self, database: Database) -> None:
        self.database = database

    async def read(self, account: AccountRef) -> BrokerSnapshot:
        async with self.database.transaction() as session:
            snapshot = await SnapshotRepository(session).latest(account.link_id)
        if snapshot is None:
            raise BrokerUnavailable(f"no snapshot of account {account.login} pushed yet")
        return snapshot


@dataclass(frozen=True)
class _Instrument:
    symbol: str
    start_price: Decimal
    digits: int
    contract_size: Decimal


_INSTRUMENTS = (
    _Instrument("EURUSD", Decimal("1.08500"), 5, Decimal(100_000)),
    _Instrument("GBPUSD", Decimal("1.27200"), 5, Decimal(100_000)),
    _Instrument("XAUUSD", Decimal("2350.00"), 2, Decimal(100)),
    _Instrument("US500", Decimal("5200.0"), 1, Decimal(1)),
)


@dataclass
class _SimulatedBook:
    rng: random.Random
    balance: Decimal
    leverage: int
    positions: list[tuple[PositionRecord, _Instrument]] = field(default_factory=list)


class SimulatedGateway:
    """A seeded random walk: the same seed and account always open the same book, and each read
    moves every price one step. Profit is in USD, the simulated account's currency."""

    source = SnapshotSource.simulated

    def __init__(self, seed: int = 7, positions: int | None = None) -> None:
        self.seed = seed
        self.positions = positions
        self._books: dict[tuple[int, str], _SimulatedBook] = {}

    async def read(self, account: AccountRef) -> BrokerSnapshot:
        return self.step(account.login, account.server)

    def step(self, login: int, server: str) -> BrokerSnapshot:
        book = self._books.get((login, server))
        if book is None:
            book = self._books[(login, server)] = self._open_book(login, server)
        for index, (position, instrument) in enumerate(book.positions):
            book.positions[index] = (self._move(book.rng, position, instrument), instrument)
        return self._snapshot(login, server, book)

    def _open_book(self, login: int, server: str) -> _SimulatedBook:
        rng = random.Random(f"{self.seed}:{login}:{server}")  # noqa: S311 - a simulation, not a secret
        book = _SimulatedBook(rng, balance=Decimal(10_000), leverage=100)
        count = self.positions if self.positions is not None else rng.randint(1, 4)
        opened = int(utcnow().timestamp()) - 3600
        for number in range(count):
            instrument = rng.choice(_INSTRUMENTS)
            side = rng.choice((PositionType.buy, PositionType.sell))
            quantum = Decimal(1).scaleb(-instrument.digits)
            entry = (instrument.start_price * Decimal(1 + rng.uniform(-0.002, 0.002))).quantize(
                quantum
            )
            distance = (entry * Decimal("0.01")).quantize(quantum)
            stop, target = (entry - distance, entry + distance)
            position = PositionRecord(
                ticket=100_000 + login % 100_000 * 10 + number,
                symbol=instrument.symbol,
                type=side,
                volume=Decimal(rng.randint(1, 50)) / 100,
                price_open=entry,
                price_current=entry,
                sl=stop if side is PositionType.buy else target,
                tp=target if side is PositionType.buy else stop,
                profit=Decimal(0),
                swap=-Decimal(rng.randint(0, 300)) / 100,
                time=datetime.fromtimestamp(opened + number * 60, UTC),
                magic=20_240_001,
                comment="signalhub",
            )
            book.positions.append((position, instrument))
        return book

    @staticmethod
    def _move(
        rng: random.Random, position: PositionRecord, instrument: _Instrument
    ) -> PositionRecord:
        quantum = Decimal(1).scaleb(-instrument.digits)
        price = (position.price_current * Decimal(1 + rng.gauss(0, 0.0005))).quantize(quantum)
        direction = 1 if position.type is PositionType.buy else -1
        profit = (
            (price - position.price_open) * position.volume * instrument.contract_size * direction
        ).quantize(CENT)
        return replace(position, price_current=price, profit=profit)

    @staticmethod
    def _snapshot(login: int, server: str, book: _SimulatedBook) -> BrokerSnapshot:
        positions = tuple(position for position, _ in book.positions)
        floating = sum((p.profit + p.swap for p in positions), Decimal(0))
        margin = sum(
            (
                p.volume * instrument.contract_size * p.price_current / book.leverage
                for p, instrument in book.positions
            ),
            Decimal(0),
        ).quantize(CENT)
        equity = book.balance + floating
        account = AccountRecord(
            login=login,
            server=server,
            company="Simulated Markets Ltd",
            currency="USD",
            leverage=book.leverage,
            trade_mode=TradeMode.demo,
            balance=book.balance,
            equity=equity,
            margin=margin,
            margin_free=equity - margin,
            margin_level=(equity / margin * 100).quantize(CENT) if margin else Decimal(0),
            profit=floating,
        )
        return BrokerSnapshot(account, positions, utcnow(), SnapshotSource.simulated)


_TRADE_MODES = {0: TradeMode.demo, 1: TradeMode.contest, 2: TradeMode.real}
_POSITION_TYPES = {0: PositionType.buy, 1: PositionType.sell}


def _decimal(value: Any) -> Decimal:
    return Decimal(str(value))


def snapshot_from_mt5(
    account: Mapping[str, Any], positions: Iterable[Mapping[str, Any]], as_of: datetime
) -> BrokerSnapshot:
    """MetaTrader5's named tuples (as `_asdict()`) to our records."""
    record = AccountRecord(
        login=int(account["login"]),
        server=str(account["server"]),
        company=str(account["company"]),
        currency=str(account["currency"]),
        leverage=int(account["leverage"]),
        trade_mode=_TRADE_MODES.get(int(account["trade_mode"]), TradeMode.real),
        balance=_decimal(account["balance"]),
        equity=_decimal(account["equity"]),
        margin=_decimal(account["margin"]),
        margin_free=_decimal(account["margin_free"]),
        margin_level=_decimal(account["margin_level"]),
        profit=_decimal(account["profit"]),
    )
    return BrokerSnapshot(
        account=record,
        positions=tuple(
            PositionRecord(
                ticket=int(position["ticket"]),
                symbol=str(position["symbol"]),
                type=_POSITION_TYPES[int(position["type"])],
                volume=_decimal(position["volume"]),
                price_open=_decimal(position["price_open"]),
                price_current=_decimal(position["price_current"]),
                sl=_decimal(position["sl"]),
                tp=_decimal(position["tp"]),
                profit=_decimal(position["profit"]),
                swap=_decimal(position["swap"]),
                time=datetime.fromtimestamp(int(position["time"]), UTC),
                magic=int(position["magic"]),
                comment=str(position["comment"]),
            )
            for position in positions
        ),
        as_of=as_of,
        source=SnapshotSource.mt5_terminal,
    )


class MT5TerminalGateway:
    """The MetaTrader5 package talks to a terminal on the same Windows host, already logged in to
    the account (the password stays in the terminal). Its calls block, so they run in a thread."""

    source = SnapshotSource.mt5_terminal

    def __init__(self) -> None:
        self._terminal: Any = None
        self._lock = asyncio.Lock()

    async def read(self, account: AccountRef) -> BrokerSnapshot:
        async with self._lock:
            return await asyncio.to_thread(self._read_blocking, account)

    def _connect(self) -> Any:
        if self._terminal is None:
            try:
                import MetaTrader5
            except ImportError as error:
                raise BrokerUnavailable(
                    "the mt5_terminal gateway needs the MetaTrader5 package on a Windows host "
                    "(pip install 'signalhub[mt5]')"
                ) from error
            if not MetaTrader5.initialize():
                raise BrokerUnavailable(f"MetaTrader5.initialize(): {MetaTrader5.last_error()}")
            self._terminal = MetaTrader5
        return self._terminal

    def _read_blocking(self, account: AccountRef) -> BrokerSnapshot:
        terminal = self._connect()
        info = terminal.account_info()
        if info is None:
            raise BrokerUnavailable(f"account_info(): {terminal.last_error()}")
        if (info.login, info.server) != (account.login, account.server):
            raise BrokerUnavailable(
                f"the terminal is logged in to {info.login} on {info.server}, "
                f"not {account.login} on {account.server}"
            )
        positions = terminal.positions_get() or ()
        return snapshot_from_mt5(
            info._asdict(), [position._asdict() for position in positions], utcnow()
        )


def build_gateway(name: BrokerGatewayName, database: Database, seed: int) -> BrokerGateway:
    if name is BrokerGatewayName.simulated:
        return SimulatedGateway(seed)
    if name is BrokerGatewayName.mt5_terminal:
        return MT5TerminalGateway()
    return EABridgeGateway(database)
