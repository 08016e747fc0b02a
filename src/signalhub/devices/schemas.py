from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, model_validator

from signalhub.kit.schemas import MAX_BIGINT, Id, Text
from signalhub.models import DeviceStatus, EaDeliveryStatus, OrderType, SignalSide
from signalhub.signals.schemas import Price, PriceOut


def _printable_name(value: str) -> str:
    stripped = value.strip()
    if not stripped:
        raise ValueError("must not be blank")
    if any(not character.isprintable() for character in stripped):
        raise ValueError("must not contain control characters")
    return stripped


DeviceName = Annotated[
    str,
    Field(min_length=1, max_length=64, examples=["Office PC - MT5"]),
    AfterValidator(_printable_name),
]


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DeviceName


class DeviceRename(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: DeviceName


class DeviceOut(BaseModel):
    id: int
    name: str
    masked_key: str = Field(description="First and last four characters of the secret.")
    status: DeviceStatus
    created_at: datetime
    last_seen_at: datetime | None
    last_ip: str | None


class DeviceRegistered(BaseModel):
    id: int
    name: str
    secret: str = Field(
        description="Shown once: the server keeps it encrypted, never shows it again."
    )
    masked_key: str
    created_at: datetime


class EaIdentity(BaseModel):
    device_id: int
    name: str
    server_time: int = Field(description="Unix seconds on the server.")


class EaSignal(BaseModel):
    """An approved signal for the device to execute."""

    approval_id: int = Field(description="Acknowledge with this id.")
    signal_id: int
    symbol: str
    side: SignalSide
    order_type: OrderType
    entry_price: PriceOut = Field(description="The order price; for market orders the reference.")
    stop_loss: PriceOut
    take_profits: list[PriceOut] = Field(description="Nearest target first.")
    expires_at: datetime
    expires_at_unix: int = Field(description="`expires_at` in unix seconds: skip it after this.")


class EaPoll(BaseModel):
    signals: list[EaSignal]
    server_time: int = Field(description="Unix seconds on the server.")


class AckIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    approval_id: Id
    status: Literal["executed", "failed", "skipped"]
    ticket: int | None = Field(default=None, ge=0, le=MAX_BIGINT)
    price: Price | None = None
    volume: Price | None = None
    error: Annotated[Text, Field(max_length=500)] | None = None

    @model_validator(mode="after")
    def _consistent(self) -> AckIn:
        if self.status == "executed" and (self.ticket is None or self.price is None):
            raise ValueError("an executed ack needs its ticket and price")
        return self


class AckOut(BaseModel):
    approval_id: int
    device_id: int
    status: EaDeliveryStatus
    ticket: int | None
    price: PriceOut | None
    volume: PriceOut | None
    error: str | None
    acked_at: datetime | None
