from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.positions.figures import drawdown_percent, position_pnl, totals
from signalhub.positions.reader import Reading
from signalhub.positions.records import BrokerSnapshot
from signalhub.positions.repository import SnapshotRepository
from signalhub.positions.schemas import AccountFiguresOut, PositionOut, PositionsOut, TotalsOut


async def store(
    session: AsyncSession,
    link_id: int,
    snapshot: BrokerSnapshot,
    device_id: int | None,
    received_at: datetime,
) -> None:
    await SnapshotRepository(session).replace(link_id, snapshot, device_id, received_at)


def view(reading: Reading) -> PositionsOut:
    snapshot = reading.snapshot
    account = snapshot.account
    summed = totals(snapshot.positions)
    return PositionsOut(
        account=AccountFiguresOut(
            login=account.login,
            server=account.server,
            company=account.company,
            currency=account.currency,
            leverage=account.leverage,
            trade_mode=account.trade_mode,
            balance=account.balance,
            equity=account.equity,
            margin=account.margin,
            free_margin=account.margin_free,
            margin_level=account.margin_level,
            drawdown_percent=drawdown_percent(account.balance, account.equity),
        ),
        positions=[
            PositionOut(
                **{key: value for key, value in vars(position).items() if key != "time"},
                opened_at=position.time,
                pnl=position_pnl(position),
            )
            for position in snapshot.positions
        ],
        totals=TotalsOut(
            profit=summed.profit, swap=summed.swap, commission=summed.commission, pnl=summed.pnl
        ),
        as_of=snapshot.as_of,
        stale=reading.stale,
        source=snapshot.source,
    )
