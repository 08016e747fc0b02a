from __future__ import annotations

from fastapi import APIRouter

from signalhub.auth.dependencies import CurrentUser
from signalhub.billing import service
from signalhub.billing.schemas import BillingOut
from signalhub.dependencies import SessionDep
from signalhub.kit.time import utcnow

router = APIRouter(prefix="/api/v1", tags=["billing"])


@router.get("/billing", response_model=BillingOut)
async def billing(user: CurrentUser, session: SessionDep) -> BillingOut:
    """The caller's tier, its expiry and their last five payments, newest first."""
    return await service.overview(session, user.id, utcnow())
