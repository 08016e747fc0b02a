from __future__ import annotations

from pydantic import BaseModel, Field

from signalhub.models import Tier


class TelegramSignIn(BaseModel):
    init_data: str = Field(min_length=1, max_length=8192)


class RefreshRequest(BaseModel):
    refresh_token: str = Field(min_length=1, max_length=512)


class TokenUser(BaseModel):
    id: int
    telegram_id: int
    tier: Tier
    is_premium: bool = Field(description="True while the user holds any paid tier.")


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: str = "bearer"  # noqa: S105 - the OAuth token type, not a secret
    expires_in: int
    user: TokenUser
