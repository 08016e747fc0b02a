"""Sign-in and token rotation. Access tokens are short-lived JWTs; refresh tokens are opaque,
used once, stored hashed, and grouped in families so that a replayed one revokes its family."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

import jwt
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.auth import init_data
from signalhub.auth.repository import RefreshTokenRepository
from signalhub.auth.schemas import TokenResponse, TokenUser
from signalhub.config import Settings
from signalhub.entitlements import service as entitlements
from signalhub.errors import Unauthorized
from signalhub.kit.crypto import decode_jwt, encode_jwt, random_token, sha256_hex
from signalhub.models import Tier, User
from signalhub.users import service as users


class RefreshTokenReused(Unauthorized):
    code = "refresh_token_reused"
    # The family revocation must persist although the request fails.
    commit_transaction = True


@dataclass(frozen=True)
class AccessClaims:
    user_id: int
    role: str
    # The user's token_version when the token was issued; a ban moves the user's on.
    token_version: int


async def sign_in_with_init_data(
    session: AsyncSession, settings: Settings, raw_init_data: str, now: datetime
) -> TokenResponse:
    data = init_data.validate(
        raw_init_data,
        settings.init_data_bot_token(),
        now=now,
        max_age=timedelta(seconds=settings.init_data_max_age_s),
    )
    profile = users.TelegramProfile(
        telegram_id=data.user.telegram_id,
        username=data.user.username,
        first_name=data.user.first_name,
        language_code=data.user.language_code,
    )
    user = await users.upsert_from_telegram(session, profile, settings.admin_telegram_ids)
    return await issue_tokens(session, settings, user, now)


async def issue_tokens(
    session: AsyncSession,
    settings: Settings,
    user: User,
    now: datetime,
    family_id: str | None = None,
) -> TokenResponse:
    """Every sign-in and refresh ends here, so a banned user gets no token whichever way in."""
    users.ensure_not_banned(user)
    ttl = timedelta(seconds=settings.access_token_ttl_s)
    access = encode_jwt(
        {"sub": str(user.id), "role": user.role, "ver": user.token_version},
        settings.jwt_key(),
        now,
        ttl,
    )
    refresh = random_token()
    await RefreshTokenRepository(session).add(
        user_id=user.id,
        token_hash=sha256_hex(refresh),
        family_id=family_id or uuid.uuid4().hex,
        expires_at=now + timedelta(seconds=settings.refresh_token_ttl_s),
    )
    current = await entitlements.current(session, user.id, now)
    return TokenResponse(
        access_token=access,
        refresh_token=refresh,
        expires_in=settings.access_token_ttl_s,
        user=TokenUser(
            id=user.id,
            telegram_id=user.telegram_id,
            tier=current.tier,
            is_premium=current.tier is not Tier.free,
        ),
    )


async def rotate_refresh_token(
    session: AsyncSession, settings: Settings, presented: str, now: datetime
) -> TokenResponse:
    repository = RefreshTokenRepository(session)
    stored = await repository.get_by_hash_for_update(sha256_hex(presented))
    if stored is None:
        raise Unauthorized("Unknown refresh token.", code="refresh_token_invalid")
    # Before the token's own state: a banned user's tokens are all revoked, and the client
    # should learn why.
    user = await users.get(session, stored.user_id)
    users.ensure_not_banned(user)
    if stored.revoked_at is not None:
        raise Unauthorized("This session was revoked; sign in again.", code="refresh_token_revoked")
    if stored.used_at is not None or not await repository.mark_used(stored.id, now):
        await repository.revoke_family(stored.family_id, now)
        raise RefreshTokenReused("Refresh token was already used; every session of it is revoked.")
    if stored.expires_at <= now:
        raise Unauthorized("Refresh token expired; sign in again.", code="refresh_token_expired")
    return await issue_tokens(session, settings, user, now, family_id=stored.family_id)


def read_access_token(settings: Settings, token: str) -> AccessClaims:
    try:
        claims = decode_jwt(token, settings.jwt_key())
        return AccessClaims(
            user_id=int(claims["sub"]),
            role=str(claims.get("role", "user")),
            # Tokens issued before versions existed carry none: version 0, every user's first.
            token_version=int(claims.get("ver", 0)),
        )
    except jwt.ExpiredSignatureError:
        raise Unauthorized("Access token expired.", code="token_expired") from None
    except (jwt.InvalidTokenError, ValueError):
        raise Unauthorized("Invalid access token.", code="token_invalid") from None


async def purge_expired_refresh_tokens(session: AsyncSession, now: datetime) -> int:
    return await RefreshTokenRepository(session).delete_expired(now)
