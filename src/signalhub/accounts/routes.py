from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Response, status

from signalhub.accounts import service
from signalhub.accounts.schemas import AccountLinkOut, LinkRequest
from signalhub.auth.dependencies import CurrentUser
from signalhub.dependencies import SessionDep
from signalhub.errors import error_responses
from signalhub.kit.time import utcnow

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])

AccountId = Annotated[int, Path(ge=1, le=2**63 - 1)]


@router.post(
    "/link",
    response_model=AccountLinkOut,
    status_code=status.HTTP_201_CREATED,
    responses=error_responses(401, 409, 422),
)
async def link_account(body: LinkRequest, user: CurrentUser, session: SessionDep) -> AccountLinkOut:
    """A pending link with a pairing code; the EA running on that account verifies it with its
    first snapshot. Never asks for a password. Unverified after 24 h: 'Account not found'."""
    now = utcnow()
    return service.describe(await service.link(session, user.id, body, now), now)


@router.get("", response_model=list[AccountLinkOut], responses=error_responses(401))
async def list_accounts(user: CurrentUser, session: SessionDep) -> list[AccountLinkOut]:
    """The caller's linked accounts, primary first; unlinked ones are left out."""
    now = utcnow()
    return [service.describe(link, now) for link in await service.listed(session, user.id)]


@router.put(
    "/{account_id}/primary",
    response_model=AccountLinkOut,
    responses=error_responses(401, 404, 409, 422),
)
async def make_primary(
    account_id: AccountId, user: CurrentUser, session: SessionDep
) -> AccountLinkOut:
    """Exactly one verified account is primary: the one `GET /api/v1/positions` shows."""
    now = utcnow()
    return service.describe(await service.set_primary(session, user.id, account_id, now), now)


@router.delete(
    "/{account_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 404, 422),
)
async def unlink_account(account_id: AccountId, user: CurrentUser, session: SessionDep) -> None:
    """The account stops receiving signals at once."""
    await service.unlink(session, user.id, account_id, utcnow())
