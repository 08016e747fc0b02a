from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field

from signalhub.auth import device_flow, service
from signalhub.auth.schemas import RefreshRequest, TelegramSignIn, TokenResponse
from signalhub.dependencies import BotUsernameDep, SessionDep, SettingsDep, SigninRateLimit
from signalhub.errors import ErrorBody, error_responses
from signalhub.kit.time import utcnow
from signalhub.ops.metrics import counting_signin

SIGN_IN_ERRORS = error_responses(
    401,
    403,
    429,
    described={
        401: "init_data_invalid, init_data_expired, refresh_token_invalid, refresh_token_reused",
        403: "account_banned",
        429: "rate_limited: too many sign-in attempts from this address",
    },
)
router = APIRouter(
    prefix="/api/v1/auth", tags=["auth"], dependencies=[SigninRateLimit], responses=SIGN_IN_ERRORS
)
oauth_router = APIRouter(
    prefix="/oauth/mini_app",
    tags=["auth"],
    dependencies=[SigninRateLimit],
    responses=SIGN_IN_ERRORS,
)


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
    """The browser's signed request: its poll, its acceptance or its refusal."""

    auth_code: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    signature: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[0-9A-Fa-f]+$",
        description="hex HMAC_SHA256(poll_secret, auth_code)",
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


class ConfirmingAccountOut(BaseModel):
    first_name: str
    username: str | None = Field(description="without the @; null when the account has none")
    initial: str = Field(description="one letter for the avatar")


class LoginAwaitingAcceptance(BaseModel):
    status: Literal["awaiting_acceptance"] = "awaiting_acceptance"
    account: ConfirmingAccountOut = Field(
        description="who confirmed in Telegram: show it, then accept or refuse"
    )


POLL_ERRORS = "invalid_grant, invalid_signature, expired_token"


@oauth_router.post(
    "/callback",
    response_model=LoginAwaitingAcceptance,
    responses={
        400: {
            "model": ErrorBody,
            "description": f"authorization_pending, slow_down, {POLL_ERRORS}",
        }
    },
)
async def poll_browser_sign_in(body: LoginPoll, session: SessionDep) -> LoginAwaitingAcceptance:
    """Poll until someone confirms in the bot; then show the browser's user which Telegram account
    it was. Tokens come only from /accept, so a stranger's confirmation signs nobody in."""
    with counting_signin("qr_poll"):
        account = await device_flow.poll(session, body.auth_code, body.signature, utcnow())
    return LoginAwaitingAcceptance(account=ConfirmingAccountOut(**account.__dict__))


@oauth_router.post(
    "/accept",
    response_model=TokenResponse,
    responses={
        400: {"model": ErrorBody, "description": POLL_ERRORS},
        409: {"model": ErrorBody, "description": "login_not_confirmed: nothing to accept yet"},
    },
)
async def accept_browser_sign_in(
    body: LoginPoll, session: SessionDep, settings: SettingsDep
) -> TokenResponse:
    """The browser's user accepts the account the poll showed: the same tokens as the Telegram
    sign-in. Signed like the poll, with the browser's private poll secret."""
    with counting_signin("qr_accept"):
        return await device_flow.accept(session, settings, body.auth_code, body.signature, utcnow())


@oauth_router.post(
    "/refuse",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses={
        400: {"model": ErrorBody, "description": POLL_ERRORS},
        409: {"model": ErrorBody, "description": "login_not_confirmed: nothing to refuse"},
    },
)
async def refuse_browser_sign_in(body: LoginPoll, session: SessionDep) -> Response:
    """ "Not me": rule out the account that confirmed and keep waiting with the same code."""
    with counting_signin("qr_refuse"):
        await device_flow.refuse(session, body.auth_code, body.signature, utcnow())
    return Response(status_code=status.HTTP_204_NO_CONTENT)
