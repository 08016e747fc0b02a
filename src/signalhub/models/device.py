from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import (
    Base,
    BigIntId,
    CreatedAtMixin,
    IdMixin,
    UTCDateTime,
    str_enum,
)


class DeviceStatus(StrEnum):
    active = "active"
    revoked = "revoked"


class Device(IdMixin, CreatedAtMixin, Base):
    """A trader's Expert Advisor. Its signing secret is stored encrypted (Fernet) and shown once;
    `secret_hint` keeps its first and last four characters for the list."""

    __tablename__ = "devices"

    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    name: Mapped[str] = mapped_column(String(64), nullable=False)
    secret_encrypted: Mapped[str] = mapped_column(String(256), nullable=False)
    secret_hint: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[DeviceStatus] = mapped_column(
        str_enum(DeviceStatus), default=DeviceStatus.active, nullable=False
    )
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_ip: Mapped[str | None] = mapped_column(String(64))


class DeviceNonce(Base):
    """Nonces of signed device requests, kept for the replay window when Redis is not
    configured. The primary key is what refuses a replay, across API instances."""

    __tablename__ = "device_nonces"

    device_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True
    )
    nonce: Mapped[str] = mapped_column(String(64), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True, nullable=False)
