from __future__ import annotations

from enum import StrEnum

from sqlalchemy import BigInteger, Boolean, String
from sqlalchemy.orm import Mapped, mapped_column

from signalhub.models.base import Base, IdMixin, TimestampMixin


class Role(StrEnum):
    user = "user"
    admin = "admin"


class User(IdMixin, TimestampMixin, Base):
    __tablename__ = "users"

    telegram_id: Mapped[int] = mapped_column(BigInteger, unique=True, nullable=False)
    username: Mapped[str | None] = mapped_column(String(64))
    first_name: Mapped[str | None] = mapped_column(String(128))
    language_code: Mapped[str | None] = mapped_column(String(16))
    role: Mapped[str] = mapped_column(String(16), default=Role.user, nullable=False)
    is_blocked: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
    # /stop_marketing or the Mini App switch: never targeted by a broadcast.
    marketing_opt_out: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)
