from __future__ import annotations

from fastapi import APIRouter

from signalhub.auth.dependencies import AdminUser, CurrentUser
from signalhub.dependencies import DatabaseDep, SessionDep, UserCacheDep
from signalhub.errors import error_responses
from signalhub.kit.schemas import PathId
from signalhub.kit.time import utcnow
from signalhub.users import service
from signalhub.users.schemas import AdminUserOut, MeOut, UserOut

router = APIRouter(prefix="/api/v1", tags=["users"])

ADMIN_USER_ERRORS = error_responses(
    described={
        401: "Not signed in",
        403: "admin_only; account_banned (the caller is banned)",
        404: "user_not_found",
        422: "Invalid user id",
    }
)


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser, database: DatabaseDep, cache: UserCacheDep) -> MeOut:
    current = await cache.tier(database, user.id, utcnow())
    return MeOut(
        user=UserOut.model_validate(user), tier=current.tier, expires_at=current.expires_at
    )


@router.get("/admin/users/{user_id:int}", response_model=AdminUserOut, responses=ADMIN_USER_ERRORS)
async def admin_get_user(user_id: PathId, _admin: AdminUser, session: SessionDep) -> AdminUserOut:
    """One user as an admin sees them: whether they blocked the bot and whether they are
    banned."""
    return AdminUserOut.model_validate(await service.get(session, user_id))


@router.post(
    "/admin/users/{user_id:int}/ban",
    response_model=AdminUserOut,
    responses=error_responses(
        described={
            401: "Not signed in",
            403: "admin_only; cannot_ban_self; account_banned (the caller is banned)",
            404: "user_not_found",
            422: "Invalid user id",
        }
    ),
)
async def ban_user(user_id: PathId, admin: AdminUser, session: SessionDep) -> AdminUserOut:
    """Bans the user: their refresh tokens are revoked, their access tokens refused from the
    next request, every sign-in answered 403 `account_banned`, their devices refused, and
    nothing more is sent to their chat. Banning a banned user changes nothing. The bot's
    `/ban <telegram_id>` does the same."""
    return AdminUserOut.model_validate(await service.ban(session, user_id, admin, utcnow()))


@router.post(
    "/admin/users/{user_id:int}/unban", response_model=AdminUserOut, responses=ADMIN_USER_ERRORS
)
async def unban_user(user_id: PathId, admin: AdminUser, session: SessionDep) -> AdminUserOut:
    """Lifts the ban: the user may sign in again (their old sessions stay revoked). Unbanning
    someone who is not banned changes nothing. The bot's `/unban <telegram_id>` does the
    same."""
    return AdminUserOut.model_validate(await service.unban(session, user_id, admin, utcnow()))
