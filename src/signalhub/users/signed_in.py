from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from signalhub.models import Role, User


@dataclass(frozen=True)
class SignedInUser:
    """The caller of an authenticated request as the users row described them when it was
    read, possibly from the cache (users.cache): enough to authorise and to answer reads.
    It is no ORM object; a write that needs the row reads (and locks) it itself."""

    id: int
    telegram_id: int
    username: str | None
    first_name: str | None
    role: Role
    marketing_opt_out: bool
    banned_at: datetime | None
    token_version: int

    @classmethod
    def of(cls, user: User) -> SignedInUser:
        return cls(
            id=user.id,
            telegram_id=user.telegram_id,
            username=user.username,
            first_name=user.first_name,
            role=Role(user.role),
            marketing_opt_out=user.marketing_opt_out,
            banned_at=user.banned_at,
            token_version=user.token_version,
        )
