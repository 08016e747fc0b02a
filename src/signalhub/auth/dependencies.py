from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.auth import service
from signalhub.auth.service import AccessClaims
from signalhub.dependencies import DatabaseDep, SettingsDep, UserCacheDep
from signalhub.errors import Forbidden, Unauthorized
from signalhub.kit.schemas import OPTIONAL_BEARER_SCHEME
from signalhub.models import Role, User
from signalhub.users import service as users
from signalhub.users.signed_in import SignedInUser

bearer = HTTPBearer(auto_error=False)
# The same scheme under its own name, so that the OpenAPI document can say that it is optional
# (see ops/openapi.py).
optional_bearer = HTTPBearer(auto_error=False, scheme_name=OPTIONAL_BEARER_SCHEME)


async def access_claims(
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> AccessClaims:
    """The signed-in user's id from the access token, without touching the database. It does
    not see a ban: a route taking `Claims` must pass them through `user_for` before it acts
    (see billing.idempotency)."""
    if credentials is None:
        raise Unauthorized("Sign in first: send 'Authorization: Bearer <access token>'.")
    return service.read_access_token(settings, credentials.credentials)


async def user_for(session: AsyncSession, claims: AccessClaims) -> User:
    """The users row a valid access token names, read now: for a caller about to write, who
    wants the database's word on the ban (see billing.idempotency)."""
    user = await users.find(session, claims.user_id)
    if user is None:
        raise _gone()
    _admit(user, claims)
    return user


async def current_user(
    database: DatabaseDep,
    cache: UserCacheDep,
    claims: Annotated[AccessClaims, Depends(access_claims)],
) -> SignedInUser:
    """The caller, from the user cache when it holds them (no query, no session), else from the
    row."""
    user = await cache.user(database, claims.user_id)
    if user is None:
        raise _gone()
    _admit(user, claims)
    return user


async def optional_user(
    database: DatabaseDep,
    settings: SettingsDep,
    cache: UserCacheDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(optional_bearer)],
) -> SignedInUser | None:
    """For public routes that do a little more for a signed-in caller; a token that is sent
    must still be valid."""
    if credentials is None:
        return None
    claims = service.read_access_token(settings, credentials.credentials)
    return await current_user(database, cache, claims)


async def admin_user(user: Annotated[SignedInUser, Depends(current_user)]) -> SignedInUser:
    if user.role != Role.admin:
        raise Forbidden("Admins only.", code="admin_only")
    return user


def _admit(user: User | SignedInUser, claims: AccessClaims) -> None:
    """Only an account that is not banned, with a token of the user's current version."""
    users.ensure_not_banned(user)
    if claims.token_version != user.token_version:
        raise Unauthorized("This token was revoked; sign in again.", code="token_revoked")


def _gone() -> Unauthorized:
    return Unauthorized("This account no longer exists.", code="token_invalid")


Claims = Annotated[AccessClaims, Depends(access_claims)]
CurrentUser = Annotated[SignedInUser, Depends(current_user)]
AdminUser = Annotated[SignedInUser, Depends(admin_user)]
OptionalUser = Annotated[SignedInUser | None, Depends(optional_user)]
