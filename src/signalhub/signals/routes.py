from __future__ import annotations

import hashlib
import json
from collections.abc import AsyncIterator
from typing import Annotated, Any

from fastapi import APIRouter, Query, Request, Response, status
from fastapi.responses import StreamingResponse

from signalhub.auth.dependencies import AdminUser, CurrentUser
from signalhub.dependencies import DatabaseDep, SessionDep, SettingsDep
from signalhub.errors import error_responses
from signalhub.kit.bus import Bus, user_channel
from signalhub.kit.schemas import MAX_BIGINT, PathId
from signalhub.kit.time import utcnow
from signalhub.models import ApprovalChannel, ApprovalStatus
from signalhub.signals import service
from signalhub.signals.schemas import (
    AdminSignalOut,
    AdminSignalPage,
    ApprovalOut,
    ApprovalPage,
    SignalCreate,
)
from signalhub.users import service as users

router = APIRouter(prefix="/api/v1", tags=["signals"])

Before = Annotated[int | None, Query(ge=1, le=MAX_BIGINT, description="Items older than this id.")]
Limit = Annotated[int, Query(ge=1, le=100)]


AUTH_ERRORS = error_responses(401, described={401: "Missing or invalid access token."})
ADMIN_ERRORS = error_responses(
    401, 403, described={401: "Missing or invalid access token.", 403: "Admins only."}
)
DECISION_ERRORS = error_responses(
    401,
    404,
    409,
    described={
        401: "Missing or invalid access token.",
        404: "No such approval among the caller's (`approval_not_found`).",
        409: "`already_decided`, `signal_expired` or `signal_cancelled`.",
    },
)


@router.post(
    "/admin/signals",
    response_model=AdminSignalOut,
    status_code=status.HTTP_201_CREATED,
    responses=ADMIN_ERRORS,
)
async def publish_signal(body: SignalCreate, admin: AdminUser, session: SessionDep) -> Any:
    """Publishes a signal; the worker offers it to every eligible trader in batches."""
    now = utcnow()
    signal = await service.publish(session, body, admin.id, now)
    return (await service.admin_views(session, [signal], now))[0]


@router.post(
    "/admin/signals/{signal_id:int}/cancel",
    response_model=AdminSignalOut,
    responses={
        **ADMIN_ERRORS,
        **error_responses(
            described={404: "No such signal.", 409: "The signal has expired."},
        ),
    },
)
async def cancel_signal(signal_id: PathId, admin: AdminUser, session: SessionDep) -> Any:
    now = utcnow()
    signal = await service.cancel(session, signal_id, admin.id, now)
    return (await service.admin_views(session, [signal], now))[0]


@router.get("/admin/signals", response_model=AdminSignalPage, responses=ADMIN_ERRORS)
async def list_signals(
    _admin: AdminUser, session: SessionDep, before: Before = None, limit: Limit = 20
) -> AdminSignalPage:
    """Newest first, with each signal's approval counts."""
    return await service.admin_page(session, before, limit, utcnow())


@router.get(
    "/approvals/pending",
    response_model=list[ApprovalOut],
    responses={**AUTH_ERRORS, 304: {"description": "Unchanged since the ETag sent."}},
)
async def pending_approvals(
    request: Request, response: Response, user: CurrentUser, session: SessionDep
) -> Any:
    """The caller's undecided, unexpired approvals, newest first. The weak ETag covers which
    approvals are listed (not `seconds_left`, which a client counts down from `expires_at`)."""
    approvals = await service.pending(session, user.id, utcnow())
    etag = _weak_etag([(item.id, item.signal.status.value) for item in approvals])
    headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
    if etag in _etags(request.headers.get("if-none-match", "")):
        return Response(status_code=status.HTTP_304_NOT_MODIFIED, headers=headers)
    response.headers.update(headers)
    return approvals


@router.get(
    "/approvals/stream",
    response_class=StreamingResponse,
    responses={
        **AUTH_ERRORS,
        200: {
            "description": "Server-sent events: `ready` once, then `approval.created`, "
            "`approval.decided` and `signal.ended` (JSON data), and a comment as heartbeat; "
            "`account.banned` ends the stream.",
            "content": {"text/event-stream": {"schema": {"type": "string"}}},
        },
    },
)
async def approvals_stream(
    request: Request, user: CurrentUser, database: DatabaseDep, settings: SettingsDep
) -> StreamingResponse:
    """Pushes changes to the caller's approvals as they happen, on every API instance (Redis
    pub/sub). Each event only says what changed: read `/approvals/pending` for the state. Sends
    a heartbeat comment every `APPROVALS_STREAM_HEARTBEAT_S` so proxies keep it open; a client
    that loses the stream polls and reconnects."""
    return StreamingResponse(
        _approval_events(request, database.bus, user.id, settings.approvals_stream_heartbeat_s),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


async def _approval_events(
    request: Request, bus: Bus, user_id: int, heartbeat_s: float
) -> AsyncIterator[str]:
    async with bus.subscribe(user_channel(user_id), service.SIGNALS_CHANNEL) as changes:
        yield "retry: 3000\nevent: ready\ndata: {}\n\n"
        while not await request.is_disconnected():
            change = await changes.get(within_s=heartbeat_s)
            if change is None:
                yield ": heartbeat\n\n"
                continue
            kind = str(change.data.get("type", "change"))
            yield f"event: {kind}\ndata: {json.dumps(change.data)}\n\n"
            if kind == users.BANNED_EVENT:
                # The reconnect is refused (403 account_banned).
                return


@router.get("/approvals", response_model=ApprovalPage, responses=AUTH_ERRORS)
async def approval_history(
    user: CurrentUser,
    session: SessionDep,
    status_filter: Annotated[ApprovalStatus | None, Query(alias="status")] = None,
    before: Before = None,
    limit: Limit = 20,
) -> ApprovalPage:
    """The caller's approvals, newest first, optionally of one status."""
    return await service.history(session, user.id, status_filter, before, limit, utcnow())


@router.post(
    "/approvals/{approval_id:int}/approve", response_model=ApprovalOut, responses=DECISION_ERRORS
)
async def approve(approval_id: PathId, user: CurrentUser, session: SessionDep) -> ApprovalOut:
    return await service.decide(
        session, approval_id, user.id, True, ApprovalChannel.miniapp, utcnow()
    )


@router.post(
    "/approvals/{approval_id:int}/reject", response_model=ApprovalOut, responses=DECISION_ERRORS
)
async def reject(approval_id: PathId, user: CurrentUser, session: SessionDep) -> ApprovalOut:
    return await service.decide(
        session, approval_id, user.id, False, ApprovalChannel.miniapp, utcnow()
    )


def _weak_etag(state: object) -> str:
    digest = hashlib.sha256(json.dumps(state, separators=(",", ":")).encode()).hexdigest()
    return f'W/"{digest[:32]}"'


def _etags(header: str) -> set[str]:
    """If-None-Match compares weakly (RFC 9110 13.1.2): `"x"` matches `W/"x"`."""
    tags = {tag.strip() for tag in header.split(",") if tag.strip()}
    return tags | {f"W/{tag}" for tag in tags if not tag.startswith("W/")}
