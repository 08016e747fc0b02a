from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from signalhub.models import Role, Tier


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    telegram_id: int
    username: str | None
    first_name: str | None
    role: Role


class MeOut(BaseModel):
    user: UserOut
    tier: Tier
    expires_at: datetime | None
