"""P&L and drawdown against hand-computed figures, and totals that always add up exactly."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from signalhub.positions.figures import drawdown_percent, position_pnl, totals
from signalhub.positions.reader import Reading
from signalhub.positions.service import view
from tests.factories import broker_position, broker_snapshot


def test_pnl_is_profit_plus_swap_plus_commission_when_reported() -> None:
    assert position_pnl(broker_position(profit=Decimal("-120.30"), swap=Decimal("-1.20"))) == (
        Decimal("-121.50")
    )
    with_commission = broker_position(
        profit=Decimal("45.10"), swap=Decimal("0.35"), commission=Decimal("-0.70")
    )
    assert position_pnl(with_commission) == Decimal("44.75")


def test_drawdown_by_hand() -> None:
    assert drawdown_percent(Decimal("10000.00"), Decimal("9850.50")) == Decimal("1.50")
    assert drawdown_percent(Decimal("2500"), Decimal("1875")) == Decimal("25.00")
    assert drawdown_percent(Decimal("3"), Decimal("2")) == Decimal("33.33")
    assert drawdown_percent(Decimal("3"), Decimal("1")) == Decimal("66.67")
    assert drawdown_percent(Decimal("1000"), Decimal("1200")) == Decimal("0.00")
    assert drawdown_percent(Decimal("1000"), Decimal("-50")) == Decimal("105.00")
    assert drawdown_percent(Decimal("0"), Decimal("-50")) == Decimal("0.00")
    assert drawdown_percent(Decimal("-10"), Decimal("-50")) == Decimal("0.00")


def test_view_of_a_hand_computed_snapshot() -> None:
    snapshot = broker_snapshot(
        positions=(
            broker_position(ticket=1, profit=Decimal("-120.30"), swap=Decimal("-1.20")),
            broker_position(
                ticket=2, profit=Decimal("45.10"), swap=Decimal("0.35"), commission=Decimal("-0.7")
            ),
        ),
        balance=Decimal("10000.00"),
        equity=Decimal("9923.25"),
    )
    out = view(Reading(snapshot, stale=False))
    assert [p.pnl for p in out.positions] == [Decimal("-121.50"), Decimal("44.75")]
    assert out.totals.model_dump() == {
        "profit": Decimal("-75.20"),
        "swap": Decimal("-0.85"),
        "commission": Decimal("-0.70"),
        "pnl": Decimal("-76.75"),
    }
    assert out.account.drawdown_percent == Decimal("0.77")
    assert out.account.free_margin == Decimal("9673.25")


money = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=2, allow_nan=False)


@given(st.lists(st.tuples(money, money, st.one_of(st.none(), money)), min_size=0, max_size=40))
def test_totals_equal_the_sum_of_positions(
    figures: list[tuple[Decimal, Decimal, Decimal | None]],
) -> None:
    positions = tuple(
        broker_position(ticket=index, profit=profit, swap=swap, commission=commission)
        for index, (profit, swap, commission) in enumerate(figures)
    )
    out = view(Reading(broker_snapshot(positions=positions), stale=False))
    assert out.totals.pnl == sum((p.pnl for p in out.positions), Decimal(0))
    assert out.totals.profit == sum((p for p, _, _ in figures), Decimal(0))
    assert out.totals.pnl == out.totals.profit + out.totals.swap + out.totals.commission
    assert totals(positions).pnl == sum((position_pnl(p) for p in positions), Decimal(0))


@given(money, money)
def test_drawdown_is_zero_unless_equity_is_below_a_positive_balance(
    balance: Decimal, equity: Decimal
) -> None:
    drawdown = drawdown_percent(balance, equity)
    if balance > 0 and equity < balance:
        assert drawdown > 0 or balance - equity < balance / 20000
        assert abs(drawdown - (balance - equity) / balance * 100) <= Decimal("0.005")
    else:
        assert drawdown == 0
