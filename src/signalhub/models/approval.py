from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, BigIntId, IdMixin, TimestampMixin, UTCDateTime, str_enum


class ApprovalStatus(StrEnum):
    pending = "pending"
    approved = "approved"
    rejected = "rejected"
    # The signal ended before the trader decided.
    expired = "expired"
    cancelled = "cancelled"


class ApprovalChannel(StrEnum):
    bot = "bot"
    miniapp = "miniapp"


class Approval(IdMixin, TimestampMixin, Base):
    """One trader's answer to one signal; unique per signal and user, so a resumed fan-out never
    offers a signal twice. `outbox_message_id` is the bot message carrying the buttons."""

    __tablename__ = "approvals"
    __table_args__ = (
        UniqueConstraint("signal_id", "user_id"),
        Index("ix_approvals_user_status", "user_id", "status", "id"),
        Index("ix_approvals_signal_status", "signal_id", "status"),
    )

    signal_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("signals.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), nullable=False
    )
    status: Mapped[ApprovalStatus] = mapped_column(
        str_enum(ApprovalStatus), default=ApprovalStatus.pending, nullable=False
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_via: Mapped[ApprovalChannel | None] = mapped_column(str_enum(ApprovalChannel))
    outbox_message_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("outbox.id", ondelete="SET NULL")
    )
