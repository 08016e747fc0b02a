from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.auth import service
from signalhub.auth.service import AccessClaims
from signalhub.dependencies import SessionDep, SettingsDep
from signalhub.errors import Forbidden, Unauthorized
from signalhub.kit.schemas import OPTIONAL_BEARER_SCHEME
from signalhub.models import Role, User
from signalhub.users import service as users

bearer = HTTPBearer(auto_error=False)
# The same scheme under its own name, so that the OpenAPI document can say that it is optional
# (see ops/openapi.py).
optional_bearer = HTTPBearer(auto_error=False, scheme_name=OPTIONAL_BEARER_SCHEME)


def access_claims(
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
    """The user a valid access token names, if the account still exists, is not banned and
    the token is of the user's current version: the row read anyway, so the ban costs no
    query."""
    user = await users.find(session, claims.user_id)
    if user is None:
        raise Unauthorized("This account no longer exists.", code="token_invalid")
    users.ensure_not_banned(user)
    if claims.token_version != user.token_version:
        raise Unauthorized("This token was revoked; sign in again.", code="token_revoked")
    return user


async def current_user(
    session: SessionDep, claims: Annotated[AccessClaims, Depends(access_claims)]
) -> User:
    return await user_for(session, claims)


async def optional_user(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(optional_bearer)],
) -> User | None:
    """For public routes that do a little more for a signed-in caller; a token that is sent
    must still be valid."""
    if credentials is None:
        return None
    return await user_for(session, service.read_access_token(settings, credentials.credentials))


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != Role.admin:
        raise Forbidden("Admins only.", code="admin_only")
    return user


Claims = Annotated[AccessClaims, Depends(access_claims)]
CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
