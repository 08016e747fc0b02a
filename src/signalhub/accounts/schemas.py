from __future__ import annotations

from dataclasses import asdict
from datetime import UTC, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, field_validator

from signalhub.kit.schemas import MAX_BIGINT, Text
from signalhub.models import AccountLinkStatus, PositionType, SnapshotSource, TradeMode
from signalhub.models.base import BROKER_DECIMAL_DIGITS, BROKER_DECIMAL_PLACES
from signalhub.positions.records import AccountRecord, BrokerSnapshot, PositionRecord

BROKER_FIGURE_LIMIT = Decimal(10) ** (BROKER_DECIMAL_DIGITS - BROKER_DECIMAL_PLACES)
# 256 KiB holds about 700 positions as an EA writes them; more is not a trading account.
MAX_SNAPSHOT_POSITIONS = 1000

MT5_LOGIN = Field(ge=1, le=MAX_BIGINT, description="The MT5 account number.")
# Broker server names as MetaTrader shows them ("ICMarketsSC-Demo", "Pepperstone-Live 02").
MT5_SERVER = Field(
    min_length=2,
    max_length=64,
    pattern=r"^[A-Za-z0-9][A-Za-z0-9 ._\-]*[A-Za-z0-9]$",
    description="The trade server's name, as the terminal shows it.",
)


class LinkRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    mt5_login: int = MT5_LOGIN
    server: str = MT5_SERVER


class AccountLinkOut(BaseModel):
    id: int
    mt5_login: int
    server: str
    company: str | None
    currency: str | None
    leverage: int | None
    trade_mode: TradeMode | None = Field(
        description="demo, contest or real, as the broker reports it; unknown until verified."
    )
    is_primary: bool
    status: AccountLinkStatus
    pairing_code: str = Field(
        description="Shown by the EA of the device that verifies this link, to compare."
    )
    expires_at: datetime = Field(description="A pending link not verified by then expires.")
    verified_at: datetime | None
    created_at: datetime
    error: str | None = Field(
        description="Why the link cannot be used: 'Account not found' once a pending link expired."
    )


def _to_broker_precision(value: Decimal) -> Decimal:
    return value.quantize(Decimal(1).scaleb(-BROKER_DECIMAL_PLACES))


# A broker figure as the terminal reports it (negative ones too), to the column's precision.
BrokerFigure = Annotated[
    Decimal,
    Field(gt=-BROKER_FIGURE_LIMIT, lt=BROKER_FIGURE_LIMIT, allow_inf_nan=False),
    AfterValidator(_to_broker_precision),
]


class SnapshotAccountIn(BaseModel):
    """MetaTrader 5's account_info() fields."""

    model_config = ConfigDict(extra="forbid")

    login: int = MT5_LOGIN
    server: str = MT5_SERVER
    company: Text = Field(default="", max_length=128)
    currency: str = Field(pattern=r"^[A-Za-z0-9]{1,16}$")
    leverage: int = Field(ge=0, le=2**31 - 1)
    trade_mode: TradeMode
    balance: BrokerFigure
    equity: BrokerFigure
    margin: BrokerFigure
    margin_free: BrokerFigure
    margin_level: BrokerFigure
    profit: BrokerFigure


class SnapshotPositionIn(BaseModel):
    """One entry of MetaTrader 5's positions_get(); `time` in unix seconds, as MT5 gives it."""

    model_config = ConfigDict(extra="forbid")

    ticket: int = Field(ge=0, le=MAX_BIGINT)
    symbol: str = Field(pattern=r"^[A-Za-z0-9._#+\-]{1,32}$")
    type: PositionType
    volume: BrokerFigure
    price_open: BrokerFigure
    price_current: BrokerFigure
    sl: BrokerFigure
    tp: BrokerFigure
    profit: BrokerFigure
    swap: BrokerFigure
    commission: BrokerFigure | None = None
    time: int = Field(ge=0, le=2**35)
    magic: int = Field(ge=-MAX_BIGINT - 1, le=MAX_BIGINT)
    comment: Text = Field(default="", max_length=64)


class SnapshotIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    account: SnapshotAccountIn
    positions: list[SnapshotPositionIn] = Field(max_length=MAX_SNAPSHOT_POSITIONS)

    @field_validator("positions")
    @classmethod
    def _tickets_are_unique(cls, positions: list[SnapshotPositionIn]) -> list[SnapshotPositionIn]:
        if len({position.ticket for position in positions}) != len(positions):
            raise ValueError("each position's ticket must be unique")
        return positions

    @classmethod
    def from_snapshot(cls, snapshot: BrokerSnapshot) -> SnapshotIn:
        """What a device sends for a snapshot its terminal (or the simulation) took; the field
        names are the records' own, MetaTrader's."""
        return cls(
            account=SnapshotAccountIn(**asdict(snapshot.account)),
            positions=[
                SnapshotPositionIn(**{**asdict(position), "time": int(position.time.timestamp())})
                for position in snapshot.positions
            ],
        )

    def to_snapshot(self, as_of: datetime) -> BrokerSnapshot:
        """Stamped with the server's receive time: device clocks are only trusted to ±300 s."""
        return BrokerSnapshot(
            account=AccountRecord(**self.account.model_dump()),
            positions=tuple(
                PositionRecord(
                    **{
                        **position.model_dump(),
                        "time": datetime.fromtimestamp(position.time, UTC),
                    }
                )
                for position in self.positions
            ),
            as_of=as_of,
            source=SnapshotSource.ea_bridge,
        )


class SnapshotAccepted(BaseModel):
    linked: bool = Field(description="False when the user has no live link of this account.")
    account_id: int | None
    status: AccountLinkStatus | None
    pairing_code: str | None = Field(description="For the EA to show, so the trader can compare.")
    message: str
