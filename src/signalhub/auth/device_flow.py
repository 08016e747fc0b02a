"""Browser sign-in confirmed in the bot: RFC 8628's device flow with a QR code.

The browser gets a public `auth_code` (shown as a t.me deep link) and a private `poll_secret`;
it polls with HMAC(poll_secret, auth_code), so someone who only saw the QR code cannot redeem it.
The user confirms in the bot after comparing the match code with the one on the screen."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.auth import service as auth
from signalhub.auth.repository import LoginRequestRepository
from signalhub.auth.schemas import TokenResponse
from signalhub.config import Settings
from signalhub.errors import AppError, Conflict, NotFound
from signalhub.kit.crypto import constant_time_equals, hmac_sha256_hex, random_token
from signalhub.models import LoginRequest, LoginRequestStatus, User
from signalhub.users import service as users

CODE_LIFETIME = timedelta(minutes=5)
POLL_INTERVAL_S = 2
# Timers and networks jitter: a poll a little under the interval is not abuse.
POLL_TOLERANCE = timedelta(milliseconds=500)
MATCH_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


class DeviceFlowError(AppError):
    """RFC 8628 §3.5 answers; the poll time they record must persist, so they commit."""

    status_code = 400
    commit_transaction = True


class TelegramNotConfigured(AppError):
    status_code = 503
    code = "telegram_not_configured"


@dataclass(frozen=True)
class StartedLogin:
    auth_code: str
    qr_code_url: str
    expires_in: int
    interval: int
    poll_secret: str
    match_code: str


def _match_code() -> str:
    letters = "".join(secrets.choice(MATCH_ALPHABET) for _ in range(6))
    return f"{letters[:3]}-{letters[3:]}"


async def start(
    session: AsyncSession,
    bot_username: str | None,
    *,
    ip_address: str | None,
    user_agent: str | None,
    now: datetime,
) -> StartedLogin:
    if not bot_username:
        raise TelegramNotConfigured(
            "The bot is not configured or Telegram does not answer: set "
            "SIGNALHUB_TELEGRAM_BOT_TOKEN (and, to skip asking Telegram, TELEGRAM_BOT_USERNAME)."
        )
    request = await LoginRequestRepository(session).add(
        LoginRequest(
            auth_code=random_token(24),
            poll_secret=random_token(32),
            match_code=_match_code(),
            status=LoginRequestStatus.pending,
            ip_address=ip_address,
            user_agent=(user_agent or "")[:512] or None,
            expires_at=now + CODE_LIFETIME,
            created_at=now,
        )
    )
    return StartedLogin(
        auth_code=request.auth_code,
        qr_code_url=f"https://t.me/{bot_username}?start=login_{request.auth_code}",
        expires_in=int(CODE_LIFETIME.total_seconds()),
        interval=POLL_INTERVAL_S,
        poll_secret=request.poll_secret,
        match_code=request.match_code,
    )


async def poll(
    session: AsyncSession, settings: Settings, auth_code: str, signature: str, now: datetime
) -> TokenResponse:
    request = await LoginRequestRepository(session).get_for_update(auth_code)
    if request is None:
        raise DeviceFlowError("Unknown sign-in code.", code="invalid_grant")
    expected = hmac_sha256_hex(request.poll_secret.encode(), auth_code.encode())
    if not constant_time_equals(expected, signature.lower()):
        raise DeviceFlowError("The poll signature does not match.", code="invalid_signature")
    if request.status == LoginRequestStatus.redeemed:
        raise DeviceFlowError("This sign-in code was already used.", code="invalid_grant")
    if now >= request.expires_at:
        raise DeviceFlowError("The sign-in code expired; start again.", code="expired_token")

    previous_poll, request.last_polled_at = request.last_polled_at, now
    await session.flush()
    if request.status == LoginRequestStatus.denied:
        raise DeviceFlowError("The sign-in was denied in Telegram.", code="access_denied")
    too_soon = timedelta(seconds=POLL_INTERVAL_S) - POLL_TOLERANCE
    if previous_poll is not None and now - previous_poll < too_soon:
        raise DeviceFlowError(f"Poll at most every {POLL_INTERVAL_S} seconds.", code="slow_down")
    if request.status == LoginRequestStatus.pending or request.user_id is None:
        raise DeviceFlowError("Waiting for confirmation in Telegram.", code="authorization_pending")

    request.status = LoginRequestStatus.redeemed
    await session.flush()
    user = await users.get(session, request.user_id)
    return await auth.issue_tokens(session, settings, user, now)


async def pending_request(session: AsyncSession, auth_code: str, now: datetime) -> LoginRequest:
    """The request the bot shows for confirmation: where it comes from and its match code."""
    request = await LoginRequestRepository(session).get_for_update(auth_code)
    if request is None or now >= request.expires_at:
        raise NotFound("This sign-in link expired or does not exist.", code="login_not_found")
    if request.status != LoginRequestStatus.pending:
        raise Conflict("This sign-in request was already answered.", code="login_already_decided")
    return request


async def decide(
    session: AsyncSession, auth_code: str, user: User, approve: bool, now: datetime
) -> LoginRequest:
    request = await pending_request(session, auth_code, now)
    request.status = LoginRequestStatus.confirmed if approve else LoginRequestStatus.denied
    request.user_id = user.id if approve else None
    request.decided_at = now
    await session.flush()
    return request


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Answered or not, a request a day past its expiry is of no use to anyone."""
    return await LoginRequestRepository(session).delete_expired(now - timedelta(days=1))
