from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from signalhub.models import DeviceStatus


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
