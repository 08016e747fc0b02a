from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, IdMixin, TimestampMixin, UTCDateTime


class Role(StrEnum):
    user = "user"
    admin = "admin"


# Telegram's own limits are lower; these bound what a forged update could make us store.
USERNAME_LENGTH = 64
FIRST_NAME_LENGTH = 128
LANGUAGE_CODE_LENGTH = 16


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    username: Mapped[str | None] = mapped_column(String(USERNAME_LENGTH))
    first_name: Mapped[str | None] = mapped_column(String(FIRST_NAME_LENGTH))
    language_code: Mapped[str | None] = mapped_column(String(LANGUAGE_CODE_LENGTH))
    role: Mapped[str] = mapped_column(String(16), default=Role.user, nullable=False)
    # The user blocked the bot (Telegram answers 403): nothing is sent until they unblock it.
    bot_blocked: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # Set by an admin's ban: no sign-in, no token, no message until an unban clears it.
    banned_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # Carried by access tokens as `ver`; a ban bumps it, so tokens issued before are refused.
    token_version: Mapped[int] = mapped_column(Integer, default=0, nullable=False)
    # /stop_marketing or the Mini App switch: never targeted by a broadcast.
    marketing_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
