from __future__ import annotations

from fastapi import APIRouter, Request, Response, status

from signalhub.accounts import service
from signalhub.accounts.schemas import AccountLinkOut, LinkRequest, SnapshotAccepted, SnapshotIn
from signalhub.auth.dependencies import CurrentUser
from signalhub.dependencies import PositionsReaderDep, SessionDep
from signalhub.devices.dependencies import DEVICE_AUTH_RESPONSES, DeviceAuth
from signalhub.errors import RateLimited, error_responses
from signalhub.kit.ratelimit import RateLimiter
from signalhub.kit.schemas import PathId
from signalhub.kit.time import utcnow
from signalhub.models import AccountLinkStatus

router = APIRouter(prefix="/api/v1/accounts", tags=["accounts"])


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
    "/{account_id:int}/primary",
    response_model=AccountLinkOut,
    responses=error_responses(401, 404, 409, 422),
)
async def make_primary(
    account_id: PathId, user: CurrentUser, session: SessionDep
) -> AccountLinkOut:
    """Exactly one verified account is primary: the one `GET /api/v1/positions` shows."""
    now = utcnow()
    return service.describe(await service.set_primary(session, user.id, account_id, now), now)


@router.delete(
    "/{account_id:int}",
    status_code=status.HTTP_204_NO_CONTENT,
    response_class=Response,
    responses=error_responses(401, 404, 422),
)
async def unlink_account(account_id: PathId, user: CurrentUser, session: SessionDep) -> None:
    """The account stops receiving signals at once."""
    await service.unlink(session, user.id, account_id, utcnow())


SNAPSHOT_PATH = "/api/v1/ea/snapshot"
SNAPSHOT_MAX_BODY_BYTES = 256 * 1024
SNAPSHOTS_PER_SECOND = 1

ea_snapshot_router = APIRouter(tags=["ea"])


@ea_snapshot_router.post(
    SNAPSHOT_PATH,
    response_model=SnapshotAccepted,
    responses={
        **DEVICE_AUTH_RESPONSES,
        **error_responses(422, 429),
        413: {"description": "payload_too_large: a snapshot takes at most 256 KiB"},
    },
)
async def push_snapshot(
    body: SnapshotIn,
    device: DeviceAuth,
    request: Request,
    session: SessionDep,
    reader: PositionsReaderDep,
) -> SnapshotAccepted:
    """A signed device reports its account (MetaTrader's account_info()) and open positions
    (positions_get()), at most once a second. It verifies its user's pending link of that login
    and server and becomes the account's live figures; it never touches another user's links."""
    limiter: RateLimiter = request.app.state.rate_limiter
    if not await limiter.allow(f"ea-snapshot:{device.id}", SNAPSHOTS_PER_SECOND, 1):
        raise RateLimited("One snapshot a second per device; this one was dropped.")
    now = utcnow()
    snapshot = body.to_snapshot(now)
    link = await service.record_snapshot(session, device.user_id, device.id, snapshot, now)
    if link is None:
        return SnapshotAccepted(
            linked=False,
            account_id=None,
            status=None,
            pairing_code=None,
            message=f"Account {body.account.login} on {body.account.server} is not linked: "
            "link it in the Mini App first.",
        )
    if link.status is AccountLinkStatus.verified:
        await reader.remember(link.id, snapshot)
    return SnapshotAccepted(
        linked=link.status is not AccountLinkStatus.unlinked,
        account_id=link.id,
        status=link.status,
        pairing_code=link.pairing_code,
        message=f"Account {link.mt5_login} is {link.status}; pairing code {link.pairing_code}.",
    )
