from __future__ import annotations

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from signalhub.auth import device_flow, service
from signalhub.auth.schemas import RefreshRequest, TelegramSignIn, TokenResponse
from signalhub.dependencies import BotUsernameDep, SessionDep, SettingsDep, SigninRateLimit
from signalhub.kit.time import utcnow
from signalhub.ops.metrics import counting_signin

router = APIRouter(prefix="/api/v1/auth", tags=["auth"], dependencies=[SigninRateLimit])
oauth_router = APIRouter(prefix="/oauth/mini_app", tags=["auth"], dependencies=[SigninRateLimit])


@router.post("/telegram", response_model=TokenResponse)
async def sign_in_with_telegram(
    body: TelegramSignIn, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Exchange the Mini App's raw initData for an access token and a refresh token."""
    with counting_signin("init_data"):
        return await service.sign_in_with_init_data(session, settings, body.init_data, utcnow())


@router.post("/refresh", response_model=TokenResponse)
async def refresh(
    body: RefreshRequest, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Rotate a refresh token: each works once; a reused one revokes its whole family."""
    with counting_signin("refresh"):
        return await service.rotate_refresh_token(session, settings, body.refresh_token, utcnow())


class LoginStarted(BaseModel):
    auth_code: str
    qr_code_url: str = Field(description="t.me deep link to show as a QR code")
    expires_in: int
    interval: int = Field(description="seconds to wait between two polls")
    poll_secret: str = Field(description="signs the polls; never shown in the QR code")
    match_code: str = Field(description="the bot shows the same code: the user compares them")


class LoginPoll(BaseModel):
    auth_code: str = Field(min_length=1, max_length=64)
    signature: str = Field(
        min_length=1, max_length=128, description="hex HMAC_SHA256(poll_secret, auth_code)"
    )


@oauth_router.post("/start", response_model=LoginStarted)
async def start_browser_sign_in(
    request: Request, session: SessionDep, bot_username: BotUsernameDep
) -> LoginStarted:
    """Start a sign-in from a browser outside Telegram, confirmed in the bot."""
    with counting_signin("qr_start"):
        started = await device_flow.start(
            session,
            bot_username,
            ip_address=request.client.host if request.client else None,
            user_agent=request.headers.get("user-agent"),
            now=utcnow(),
        )
    return LoginStarted(**started.__dict__)


@oauth_router.post(
    "/callback",
    response_model=TokenResponse,
    responses={
        400: {
            "description": "authorization_pending, slow_down, access_denied, expired_token, "
            "invalid_grant, invalid_signature"
        }
    },
)
async def poll_browser_sign_in(
    body: LoginPoll, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """Poll until the user confirmed in the bot; then the same tokens as the Telegram sign-in."""
    with counting_signin("qr_poll"):
        return await device_flow.poll(session, settings, body.auth_code, body.signature, utcnow())
