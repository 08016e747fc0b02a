from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Request, Response

from signalhub.auth.dependencies import CurrentUser
from signalhub.dependencies import SessionDep, SettingsDep
from signalhub.devices import bridge, service
from signalhub.devices.dependencies import DEVICE_AUTH_RESPONSES, DeviceAuth, SignedDevice
from signalhub.devices.schemas import (
    AckIn,
    AckOut,
    DeviceCreate,
    DeviceOut,
    DeviceRegistered,
    DeviceRename,
    EaIdentity,
    EaPoll,
)
from signalhub.devices.traffic import DeviceTraffic
from signalhub.kit.schemas import PathId
from signalhub.kit.time import utcnow
from signalhub.models import Device

EA_PATH_PREFIX = "/api/v1/ea/"
EA_MAX_BODY_BYTES = 64 * 1024
# Below the usual 60 s proxy and client read timeouts.
MAX_POLL_WAIT_S = 30

router = APIRouter(prefix="/api/v1/devices", tags=["devices"])
ea_router = APIRouter(prefix=EA_PATH_PREFIX.rstrip("/"), tags=["ea"])


def _out(device: Device) -> DeviceOut:
    return DeviceOut(
        id=device.id,
        name=device.name,
        masked_key=device.secret_hint,
        status=device.status,
        created_at=device.created_at,
        last_seen_at=device.last_seen_at,
        last_ip=device.last_ip,
    )


@router.get("", response_model=list[DeviceOut])
async def list_devices(user: CurrentUser, session: SessionDep) -> list[DeviceOut]:
    """The caller's devices, active first, with masked keys."""
    return [_out(device) for device in await service.list_devices(session, user.id)]


@router.post(
    "",
    status_code=201,
    response_model=DeviceRegistered,
    responses={403: {"description": "device_limit: the plan's device limit is reached"}},
)
async def register_device(
    body: DeviceCreate, user: CurrentUser, session: SessionDep, settings: SettingsDep
) -> DeviceRegistered:
    """Registers a device and answers its secret, which is never shown again."""
    registration = await service.register(session, settings, user.id, body.name, utcnow())
    return DeviceRegistered(**_out(registration.device).model_dump(), secret=registration.secret)


router.add_api_route(
    "/register",
    register_device,
    methods=["POST"],
    status_code=201,
    response_model=DeviceRegistered,
    responses={403: {"description": "device_limit: the plan's device limit is reached"}},
    summary="Register Device (the plan's path)",
    operation_id="register_device_plan_path",
)


@router.patch(
    "/{device_id:int}",
    response_model=DeviceOut,
    responses={404: {"description": "device_not_found (also another user's device)"}},
)
async def rename_device(
    device_id: PathId, body: DeviceRename, user: CurrentUser, session: SessionDep
) -> DeviceOut:
    return _out(await service.rename(session, user.id, device_id, body.name))


@router.delete(
    "/{device_id:int}",
    status_code=204,
    responses={404: {"description": "device_not_found (also another user's device)"}},
)
async def revoke_device(device_id: PathId, user: CurrentUser, session: SessionDep) -> Response:
    """Revokes at once: the device's next signed request is refused."""
    await service.revoke(session, user.id, device_id, utcnow())
    return Response(status_code=204)


@ea_router.get("/me", response_model=EaIdentity, responses=DEVICE_AUTH_RESPONSES)
async def ea_identity(device: DeviceAuth) -> EaIdentity:
    """Checks a device's settings: answers who it is and the server's clock."""
    return EaIdentity(device_id=device.id, name=device.name, server_time=int(utcnow().timestamp()))


@ea_router.get("/poll", response_model=EaPoll, responses=DEVICE_AUTH_RESPONSES)
async def ea_poll(
    request: Request,
    signed: SignedDevice,
    wait: Annotated[int, Query(ge=0, le=MAX_POLL_WAIT_S, description="Seconds to wait.")] = 0,
) -> EaPoll:
    """The user's approved signals this device has not taken, and those it took but has not
    acknowledged within the lease (SIGNALHUB_EA_LEASE_S): a device acks again what it already
    executed, never trades twice. With `wait`, a long poll: answers as soon as an approval
    arrives, or empty after `wait` s."""
    signals = await bridge.long_poll(
        request.app.state.device_traffic,
        request.app.state.handover,
        signed.authenticate,
        wait,
        lambda: _disconnected(request),
    )
    return EaPoll(signals=signals, server_time=int(utcnow().timestamp()))


async def _disconnected(request: Request) -> None:
    """Returns when the client hangs up (the body was already read by SignedDevice)."""
    while (await request.receive())["type"] != "http.disconnect":
        continue


@ea_router.post(
    "/ack",
    response_model=AckOut,
    responses={
        **DEVICE_AUTH_RESPONSES,
        404: {"description": "approval_not_found: unknown, another user's, or not approved"},
        409: {"description": "already_acked: this device acknowledged it differently before"},
    },
)
async def ea_ack(body: AckIn, device: DeviceAuth, request: Request) -> AckOut:
    """What the device did with a signal. The first ack wins and tells the trader in the bot;
    sending the same ack again is harmless."""
    traffic: DeviceTraffic = request.app.state.device_traffic
    async with traffic.transaction() as session:
        return await bridge.ack(session, device, body, utcnow())
