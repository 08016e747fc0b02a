from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

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


class AdminUserOut(UserOut):
    bot_blocked: bool = Field(description="The user blocked the bot: nothing reaches them.")
    banned_at: datetime | None = Field(description="Set while an admin's ban is in force.")
    marketing_opt_out: bool
    created_at: datetime
