from __future__ import annotations

from datetime import datetime
from enum import IntEnum, StrEnum
from typing import Any

from sqlalchemy import JSON, BigInteger, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.kit.time import utcnow
from signalhub.models.base import Base, BigIntId, CreatedAtMixin, IdMixin, UTCDateTime


class Priority(IntEnum):
    """Lower is sent first: a broadcast never delays a signal."""

    signal = 0
    transactional = 1
    marketing = 2


class OutboxStatus(StrEnum):
    pending = "pending"
    sending = "sending"
    sent = "sent"
    failed = "failed"
    dropped = "dropped"
    interrupted = "interrupted"


class OutboxMessage(IdMixin, CreatedAtMixin, Base):
    __tablename__ = "outbox"
    # In the sender's claim order (pending rows by priority, then id).
    __table_args__ = (Index("ix_outbox_due", "status", "priority", "id"),)

    chat_id: Mapped[int] = mapped_column(BigInteger, index=True, nullable=False)
    user_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="SET NULL")
    )
    kind: Mapped[str] = mapped_column(String(32), nullable=False)
    priority: Mapped[int] = mapped_column(Integer, nullable=False)
    text: Mapped[str] = mapped_column(Text, nullable=False)
    # "HTML" for marketing templates; plain text otherwise.
    parse_mode: Mapped[str | None] = mapped_column(String(16))
    # Sent as a photo with `text` as its caption.
    photo_url: Mapped[str | None] = mapped_column(String(1024))
    buttons: Mapped[list[Any] | None] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), default=OutboxStatus.pending, nullable=False)
    attempts: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    next_attempt_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, nullable=False)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    telegram_message_id: Mapped[int | None] = mapped_column(BigInteger)
    last_error: Mapped[str | None] = mapped_column(Text)
    # Not sent after this moment (a signal's request is worthless once the signal expired).
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Set on an edit: instead of a new message, this row rewrites the message `edit_of_id` sent.
    edit_of_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("outbox.id", ondelete="CASCADE")
    )
