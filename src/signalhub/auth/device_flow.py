"""Browser sign-in confirmed in the bot: RFC 8628's device flow with a QR code.

The browser gets a public `auth_code` (shown as a t.me deep link) and a private `poll_secret`;
it polls with HMAC(poll_secret, auth_code), so someone who only saw the QR code cannot redeem it.
The user confirms in the bot after comparing the match code with the one on the screen.

Anyone who sees the QR code can confirm it, though, and would sign the browser in as themselves
(login CSRF). So a confirmation only names an account: the poll shows the browser who confirmed,
and tokens are issued only when the browser accepts that account with its poll secret. "Not me"
rules that account out and reopens the sign-in; a denial in the bot rules out only the one who
denied, since anyone holding the code could send it."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit import service as audit
from signalhub.auth import service as auth
from signalhub.auth.repository import LoginRefusalRepository, LoginRequestRepository
from signalhub.auth.schemas import TokenResponse
from signalhub.config import Settings
from signalhub.errors import AppError, Conflict, NotFound
from signalhub.kit.crypto import constant_time_equals, hmac_sha256_hex, random_token
from signalhub.models import (
    LoginRefusal,
    LoginRefusalSource,
    LoginRequest,
    LoginRequestStatus,
    User,
)
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


@dataclass(frozen=True)
class ConfirmingAccount:
    """Who confirmed in Telegram, as the browser shows it before its user accepts."""

    first_name: str
    username: str | None
    initial: str


def _confirming_account(user: User) -> ConfirmingAccount:
    first_name = (user.first_name or "").strip() or "Telegram user"
    return ConfirmingAccount(
        first_name=first_name, username=user.username or None, initial=first_name[0].upper()
    )


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


async def _browser_request(
    session: AsyncSession, auth_code: str, signature: str, now: datetime
) -> LoginRequest:
    """The sign-in the browser asks about, once its signature proves it holds the poll secret."""
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
    return request


async def poll(
    session: AsyncSession, auth_code: str, signature: str, now: datetime
) -> ConfirmingAccount:
    """RFC 8628 polling; its one success is "confirmed by this account", which the browser's
    user then accepts or refuses. The poll itself never issues tokens."""
    request = await _browser_request(session, auth_code, signature, now)
    previous_poll, request.last_polled_at = request.last_polled_at, now
    await session.flush()
    too_soon = timedelta(seconds=POLL_INTERVAL_S) - POLL_TOLERANCE
    if previous_poll is not None and now - previous_poll < too_soon:
        raise DeviceFlowError(f"Poll at most every {POLL_INTERVAL_S} seconds.", code="slow_down")
    if request.status != LoginRequestStatus.confirmed or request.user_id is None:
        raise DeviceFlowError("Waiting for confirmation in Telegram.", code="authorization_pending")
    return _confirming_account(await users.get(session, request.user_id))


def _not_confirmed() -> Conflict:
    return Conflict(
        "Nobody has confirmed this sign-in in Telegram yet.", code="login_not_confirmed"
    )


async def accept(
    session: AsyncSession, settings: Settings, auth_code: str, signature: str, now: datetime
) -> TokenResponse:
    """The browser's user accepts the account that confirmed: the only way to tokens."""
    request = await _browser_request(session, auth_code, signature, now)
    if request.status != LoginRequestStatus.confirmed or request.user_id is None:
        raise _not_confirmed()
    request.status = LoginRequestStatus.redeemed
    await session.flush()
    user = await users.get(session, request.user_id)
    await audit.record(
        session,
        "login.browser_accepted",
        subject_type="login_request",
        subject_id=request.id,
        user_id=user.id,
        data={"ip_address": request.ip_address},
    )
    return await auth.issue_tokens(session, settings, user, now)


async def refuse(session: AsyncSession, auth_code: str, signature: str, now: datetime) -> None:
    """ "Not me": the confirming account is ruled out of this sign-in, which goes back to
    waiting, so its own user can still confirm from the same QR code."""
    request = await _browser_request(session, auth_code, signature, now)
    if request.status != LoginRequestStatus.confirmed or request.user_id is None:
        raise _not_confirmed()
    refused_user_id = request.user_id
    await LoginRefusalRepository(session).add(
        LoginRefusal(
            login_request_id=request.id,
            user_id=refused_user_id,
            source=LoginRefusalSource.refused_in_browser,
        )
    )
    request.status = LoginRequestStatus.pending
    request.user_id = None
    request.decided_at = None
    await session.flush()
    await audit.record(
        session,
        "login.browser_refused",
        subject_type="login_request",
        subject_id=request.id,
        user_id=refused_user_id,
        data={"ip_address": request.ip_address},
    )


async def _open_request(session: AsyncSession, auth_code: str, now: datetime) -> LoginRequest:
    request = await LoginRequestRepository(session).get_for_update(auth_code)
    if request is None or now >= request.expires_at:
        raise NotFound("This sign-in link expired or does not exist.", code="login_not_found")
    if request.status == LoginRequestStatus.redeemed:
        raise Conflict("This sign-in was already completed.", code="login_already_used")
    return request


def _refusal_error(refusal: LoginRefusal) -> Conflict:
    if refusal.source == LoginRefusalSource.declined_in_bot:
        return Conflict("You declined this sign-in request.", code="login_refused")
    return Conflict(
        "The browser did not accept your account for this sign-in.", code="login_refused"
    )


def _already_confirmed(request: LoginRequest, user: User) -> Conflict:
    if request.user_id == user.id:
        return Conflict(
            "You already confirmed: accept the sign-in in your browser.",
            code="login_already_confirmed",
        )
    return Conflict(
        "Another Telegram account already confirmed this sign-in. If the browser is yours, "
        "choose “Not me” there, then open the link again.",
        code="login_already_confirmed",
    )


async def pending_request(
    session: AsyncSession, auth_code: str, user: User, now: datetime
) -> LoginRequest:
    """The request the bot shows this user for confirmation: where it comes from and its match
    code; or why they cannot confirm it."""
    request = await _open_request(session, auth_code, now)
    refusal = await LoginRefusalRepository(session).find(request.id, user.id)
    if refusal is not None:
        raise _refusal_error(refusal)
    if request.status == LoginRequestStatus.confirmed:
        raise _already_confirmed(request, user)
    return request


async def confirm(session: AsyncSession, auth_code: str, user: User, now: datetime) -> LoginRequest:
    """Names `user` as the account to sign in; the browser still has to accept it. The row lock
    makes two confirmations at once end with one confirmed account and one refusal."""
    request = await pending_request(session, auth_code, user, now)
    request.status = LoginRequestStatus.confirmed
    request.user_id = user.id
    request.decided_at = now
    await session.flush()
    return request


async def decline(session: AsyncSession, auth_code: str, user: User, now: datetime) -> None:
    """Only "not this Telegram user": whoever holds the code can send it, so it must not end
    the sign-in for the browser. A user who had confirmed withdraws their confirmation."""
    request = await _open_request(session, auth_code, now)
    if await LoginRefusalRepository(session).find(request.id, user.id) is None:
        await LoginRefusalRepository(session).add(
            LoginRefusal(
                login_request_id=request.id,
                user_id=user.id,
                source=LoginRefusalSource.declined_in_bot,
            )
        )
        await audit.record(
            session,
            "login.declined_in_bot",
            subject_type="login_request",
            subject_id=request.id,
            user_id=user.id,
        )
    if request.status == LoginRequestStatus.confirmed and request.user_id == user.id:
        request.status = LoginRequestStatus.pending
        request.user_id = None
        request.decided_at = None
    await session.flush()


async def purge_expired(session: AsyncSession, now: datetime) -> int:
    """Answered or not, a request a day past its expiry is of no use to anyone."""
    return await LoginRequestRepository(session).delete_expired(now - timedelta(days=1))
