from __future__ import annotations

from enum import StrEnum

from sqlalchemy import ForeignKey, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, BigIntId, CreatedAtMixin, IdMixin, str_enum


class LoginRefusalSource(StrEnum):
    # The Telegram user tapped Deny in the bot: "not me, I did not start this".
    declined_in_bot = "declined_in_bot"
    # The browser answered "Not me" to this Telegram user's confirmation.
    refused_in_browser = "refused_in_browser"


class LoginRefusal(IdMixin, CreatedAtMixin, Base):
    """One Telegram user ruled out of one browser sign-in. Neither kind ends the sign-in: it stays
    open for the right person, and the refused user cannot confirm it again (so a stranger cannot
    keep prompting the browser, hoping its user accepts by mistake)."""

    __tablename__ = "login_refusals"
    __table_args__ = (UniqueConstraint("login_request_id", "user_id"),)

    login_request_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("login_requests.id", ondelete="CASCADE"), nullable=False
    )
    user_id: Mapped[int] = mapped_column(
        BigIntId, ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False
    )
    source: Mapped[LoginRefusalSource] = mapped_column(
        str_enum(LoginRefusalSource, length=32), nullable=False
    )
