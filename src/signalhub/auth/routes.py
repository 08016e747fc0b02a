from __future__ import annotations

from fastapi import APIRouter

from signalhub.auth import service
from signalhub.auth.schemas import RefreshRequest, TelegramSignIn, TokenResponse
from signalhub.dependencies import SessionDep, SettingsDep
from signalhub.kit.time import utcnow

router = APIRouter(prefix="/api/v1/auth", tags=["auth"])


@router.post("/telegram", response_model=TokenResponse)
async def sign_in_with_telegram(
    body: TelegramSignIn, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Exchange the Mini App's raw initData for an access token and a refresh token."""
    return await service.sign_in_with_init_data(session, settings, body.init_data, utcnow())


@router.post("/refresh", response_model=TokenResponse)
async def refresh(
    body: RefreshRequest, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Rotate a refresh token: each works once; a reused one revokes its whole family."""
    return await service.rotate_refresh_token(session, settings, body.refresh_token, utcnow())
