from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, insert, select

from signalhub.kit.repository import Repository
from signalhub.models import AccountInfo, AccountLink, AccountPosition, TradeMode
from signalhub.positions.figures import drawdown_percent
from signalhub.positions.records import AccountRecord, BrokerSnapshot, PositionRecord


class SnapshotRepository(Repository):
    async def latest(self, link_id: int) -> BrokerSnapshot | None:
        row = (
            await self.session.execute(
                select(AccountInfo, AccountLink)
                .join(AccountLink, AccountLink.id == AccountInfo.account_link_id)
                .where(AccountInfo.account_link_id == link_id)
            )
        ).first()
        if row is None:
            return None
        info, link = row
        positions = await self.session.scalars(
            select(AccountPosition)
            .where(AccountPosition.account_link_id == link_id)
            .order_by(AccountPosition.opened_at, AccountPosition.ticket)
        )
        return BrokerSnapshot(
            account=AccountRecord(
                login=link.mt5_login,
                server=link.server,
                company=link.company or "",
                currency=link.currency or "",
                leverage=link.leverage or 0,
                trade_mode=link.trade_mode or TradeMode.real,
                balance=info.balance,
                equity=info.equity,
                margin=info.margin,
                margin_free=info.margin_free,
                margin_level=info.margin_level,
                profit=info.profit,
            ),
            positions=tuple(
                PositionRecord(
                    ticket=p.ticket,
                    symbol=p.symbol,
                    type=p.type,
                    volume=p.volume,
                    price_open=p.price_open,
                    price_current=p.price_current,
                    sl=p.sl,
                    tp=p.tp,
                    profit=p.profit,
                    swap=p.swap,
                    time=p.opened_at,
                    magic=p.magic,
                    comment=p.comment,
                    commission=p.commission,
                )
                for p in positions
            ),
            as_of=info.as_of,
            source=info.source,
        )

    async def replace(
        self, link_id: int, snapshot: BrokerSnapshot, device_id: int | None, received_at: datetime
    ) -> None:
        """The snapshot becomes the account's only one: its figures and exactly its positions."""
        account = snapshot.account
        info = await self.session.scalar(
            select(AccountInfo).where(AccountInfo.account_link_id == link_id)
        )
        if info is None:
            info = AccountInfo(account_link_id=link_id)
            self.session.add(info)
        info.device_id = device_id
        info.source = snapshot.source
        info.balance = account.balance
        info.equity = account.equity
        info.margin = account.margin
        info.margin_free = account.margin_free
        info.margin_level = account.margin_level
        info.profit = account.profit
        info.drawdown_percent = drawdown_percent(account.balance, account.equity)
        info.positions_count = len(snapshot.positions)
        info.as_of = snapshot.as_of
        info.received_at = received_at
        await self.session.execute(
            delete(AccountPosition).where(AccountPosition.account_link_id == link_id)
        )
        if snapshot.positions:
            await self.session.execute(
                insert(AccountPosition),
                [
                    {
                        "account_link_id": link_id,
                        "ticket": p.ticket,
                        "symbol": p.symbol,
                        "type": p.type,
                        "volume": p.volume,
                        "price_open": p.price_open,
                        "price_current": p.price_current,
                        "sl": p.sl,
                        "tp": p.tp,
                        "profit": p.profit,
                        "swap": p.swap,
                        "commission": p.commission,
                        "opened_at": p.time,
                        "magic": p.magic,
                        "comment": p.comment,
                    }
                    for p in snapshot.positions
                ],
            )
        await self.session.flush()
