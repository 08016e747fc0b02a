from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, BigIntId, CreatedAtMixin, IdMixin, UTCDateTime, str_enum


class IdempotencyStatus(StrEnum):
    in_progress = "in_progress"
    completed = "completed"


class IdempotencyKey(IdMixin, CreatedAtMixin, Base):
    """A client's Idempotency-Key, scoped to its user and route, with the fingerprint of the
    request that first used it and, once that request finished, its response."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (UniqueConstraint("user_id", "scope", "key"),)

    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    scope: Mapped[str] = mapped_column(String(128), nullable=False)
    key: Mapped[str] = mapped_column(String(255), nullable=False)
    fingerprint: Mapped[str] = mapped_column(String(64), nullable=False)
    status: Mapped[IdempotencyStatus] = mapped_column(str_enum(IdempotencyStatus), nullable=False)
    # A request that died without releasing its key (a killed process) holds it until then.
    locked_until: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    response_status: Mapped[int | None] = mapped_column(Integer)
    response_body: Mapped[Any] = mapped_column(JSON, nullable=True)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True, nullable=False)
