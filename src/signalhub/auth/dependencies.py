from __future__ import annotations

from typing import Annotated

from fastapi import Depends
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from signalhub.auth import service
from signalhub.dependencies import SessionDep, SettingsDep
from signalhub.errors import Forbidden, Unauthorized
from signalhub.models import Role, User
from signalhub.users import service as users

bearer = HTTPBearer(auto_error=False)


async def current_user(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User:
    if credentials is None:
        raise Unauthorized("Sign in first: send 'Authorization: Bearer <access token>'.")
    claims = service.read_access_token(settings, credentials.credentials)
    user = await users.find(session, claims.user_id)
    if user is None:
        raise Unauthorized("This account no longer exists.", code="token_invalid")
    return user


async def optional_user(
    session: SessionDep,
    settings: SettingsDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> User | None:
    """For public routes that do a little more for a signed-in caller; a token that is sent
    must still be valid."""
    if credentials is None:
        return None
    return await current_user(session, settings, credentials)


async def admin_user(user: Annotated[User, Depends(current_user)]) -> User:
    if user.role != Role.admin:
        raise Forbidden("Admins only.", code="admin_only")
    return user


CurrentUser = Annotated[User, Depends(current_user)]
AdminUser = Annotated[User, Depends(admin_user)]
OptionalUser = Annotated[User | None, Depends(optional_user)]
