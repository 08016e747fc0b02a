from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from signalhub.models import AccountLinkStatus, TradeMode

MT5_LOGIN = Field(ge=1, le=2**63 - 1, description="The MT5 account number.")
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
