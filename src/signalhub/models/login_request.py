from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, BigIntId, CreatedAtMixin, IdMixin, UTCDateTime, str_enum


class LoginRequestStatus(StrEnum):
    pending = "pending"
    # A Telegram user confirmed in the bot; the browser has not accepted that account yet.
    confirmed = "confirmed"
    redeemed = "redeemed"


class LoginRequest(IdMixin, CreatedAtMixin, Base):
    """A browser sign-in confirmed in the bot (RFC 8628 device flow). The poll secret signs the
    browser's polls and never appears in the QR code. `user_id` is the Telegram user who confirmed
    it: tokens are issued for them only once the browser accepts that account."""

    __tablename__ = "login_requests"

    auth_code: Mapped[str] = mapped_column(String(64), unique=True, nullable=False)
    poll_secret: Mapped[str] = mapped_column(String(128), nullable=False)
    match_code: Mapped[str] = mapped_column(String(16), nullable=False)
    status: Mapped[LoginRequestStatus] = mapped_column(
        str_enum(LoginRequestStatus), default=LoginRequestStatus.pending, nullable=False
    )
    user_id: Mapped[int | None] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE")
    )
    ip_address: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(512))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime(), nullable=False)
    last_polled_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
