from __future__ import annotations

from fastapi import APIRouter

from signalhub.auth.dependencies import CurrentUser
from signalhub.dependencies import SessionDep
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.users.schemas import MeOut, UserOut

router = APIRouter(prefix="/api/v1", tags=["users"])


@router.get("/me", response_model=MeOut)
async def me(user: CurrentUser, session: SessionDep) -> MeOut:
    current = await entitlements.current(session, user.id, utcnow())
    return MeOut(
        user=UserOut.model_validate(user), tier=current.tier, expires_at=current.expires_at
    )
