from __future__ import annotations

from fastapi import APIRouter

from signalhub.accounts import service as accounts
from signalhub.auth.dependencies import CurrentUser
from signalhub.dependencies import PositionsReaderDep, SessionDep
from signalhub.errors import error_responses
from signalhub.kit.schemas import PathId
from signalhub.positions import service
from signalhub.positions.schemas import PositionsOut

router = APIRouter(prefix="/api/v1", tags=["positions"])


@router.get("/positions", response_model=PositionsOut, responses=error_responses(401, 404, 503))
async def primary_positions(
    user: CurrentUser, session: SessionDep, reader: PositionsReaderDep
) -> PositionsOut:
    """Figures and open positions of the caller's primary account."""
    account = await accounts.readable(session, user.id, None)
    return service.view(await reader.read(account))


@router.get(
    "/accounts/{account_id:int}/positions",
    response_model=PositionsOut,
    responses=error_responses(401, 404, 409, 422, 503),
)
async def account_positions(
    account_id: PathId, user: CurrentUser, session: SessionDep, reader: PositionsReaderDep
) -> PositionsOut:
    """Figures and open positions of one of the caller's verified accounts."""
    account = await accounts.readable(session, user.id, account_id)
    return service.view(await reader.read(account))
