"""The gateways: the simulated walk is seeded, MetaTrader5's records convert faithfully, and the
terminal gateway says plainly when the package is missing."""

from __future__ import annotations

from collections import namedtuple
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from signalhub.kit.time import utcnow
from signalhub.models import PositionType, TradeMode
from signalhub.positions.gateway import MT5TerminalGateway, SimulatedGateway, snapshot_from_mt5
from signalhub.positions.records import AccountRef, BrokerUnavailable

ACCOUNT = AccountRef(1, 5_123_456, "Simulated-Demo")

# MetaTrader5's own named tuples, as the package returns them (a subset of their fields).
MT5AccountInfo = namedtuple(
    "MT5AccountInfo",
    "login trade_mode leverage balance credit profit equity margin margin_free margin_level "
    "currency server company name",
)
MT5TradePosition = namedtuple(
    "MT5TradePosition",
    "ticket time type magic volume price_open sl tp price_current swap profit symbol comment",
)


async def test_the_simulated_walk_is_seeded_and_moves_on_every_read() -> None:
    first, again = SimulatedGateway(seed=11), SimulatedGateway(seed=11)
    a, b = await first.read(ACCOUNT), await again.read(ACCOUNT)
    assert a.positions == b.positions
    assert a.account.equity == b.account.equity
    assert (await first.read(ACCOUNT)).positions != a.positions
    other = await SimulatedGateway(seed=12).read(ACCOUNT)
    assert other.positions != a.positions


async def test_simulated_figures_are_consistent() -> None:
    gateway = SimulatedGateway(seed=5, positions=3)
    for _ in range(20):
        snapshot = await gateway.read(ACCOUNT)
    assert len(snapshot.positions) == 3
    floating = sum((p.profit + p.swap for p in snapshot.positions), Decimal(0))
    assert snapshot.account.equity == snapshot.account.balance + floating
    assert snapshot.account.margin_free == snapshot.account.equity - snapshot.account.margin
    for position in snapshot.positions:
        moved_up = position.price_current > position.price_open
        if position.price_current != position.price_open:
            gaining = moved_up == (position.type is PositionType.buy)
            assert (position.profit > 0) == gaining


def test_metatrader5_records_convert_field_for_field() -> None:
    info = MT5AccountInfo(
        5123456,
        2,
        500,
        10000.0,
        0.0,
        -121.5,
        9878.5,
        108.51,
        9769.99,
        9103.77,
        "USD",
        "ICMarketsSC-Live07",
        "Raw Trading Ltd",
        "Trader",
    )
    position = MT5TradePosition(
        987654321,
        1764494100,
        1,
        20240001,
        0.1,
        1.08512,
        1.095,
        1.08,
        1.08391,
        -1.2,
        12.1,
        "EURUSD",
        "signalhub",
    )
    snapshot = snapshot_from_mt5(info._asdict(), [position._asdict()], utcnow())
    assert snapshot.account.trade_mode is TradeMode.real
    assert snapshot.account.margin_level == Decimal("9103.77")
    assert snapshot.account.balance == Decimal("10000.0")
    [converted] = snapshot.positions
    assert converted.type is PositionType.sell
    assert converted.price_open == Decimal("1.08512")
    assert converted.volume == Decimal("0.1")
    assert converted.time == datetime(2025, 11, 30, 9, 15, tzinfo=UTC)
    assert converted.commission is None


async def test_the_terminal_gateway_without_the_package_is_unavailable() -> None:
    try:
        import MetaTrader5  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("MetaTrader5 is installed: this host can run the terminal gateway")
    with pytest.raises(BrokerUnavailable, match="MetaTrader5 package"):
        await MT5TerminalGateway().read(ACCOUNT)


async def test_the_terminal_gateway_reads_a_logged_in_terminal() -> None:
    terminal = pytest.importorskip("MetaTrader5", reason="a Windows host with MetaTrader 5 only")
    assert terminal.initialize()
    info = terminal.account_info()
    snapshot = await MT5TerminalGateway().read(AccountRef(1, info.login, info.server))
    assert snapshot.account.login == info.login
