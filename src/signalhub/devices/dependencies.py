"""`DeviceAuth`: the signed-request dependency of every `/api/v1/ea/*` route."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated

from fastapi import Depends, Header, Request
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.config import Settings
from signalhub.dependencies import SettingsDep
from signalhub.devices import service
from signalhub.devices.nonces import NonceStore
from signalhub.devices.service import AuthenticatedDevice, SignedRequest
from signalhub.devices.traffic import DeviceTraffic
from signalhub.kit.time import utcnow


def request_target(request: Request) -> str:
    """The path as the client sent it (not percent-decoded), with its query string."""
    raw_path: bytes = request.scope.get("raw_path") or request.url.path.encode()
    query: bytes = request.scope.get("query_string", b"")
    target = raw_path.decode("latin-1")
    return f"{target}?{query.decode('latin-1')}" if query else target


@dataclass(frozen=True)
class DeviceAuthenticator:
    """A signed request whose headers are well formed, to be authenticated inside a transaction
    the route chooses."""

    signed: SignedRequest
    settings: Settings
    nonces: NonceStore

    async def authenticate(self, session: AsyncSession) -> AuthenticatedDevice:
        return await service.authenticate(
            session, self.settings, self.nonces, self.signed, utcnow()
        )


async def signed_request(
    request: Request,
    settings: SettingsDep,
    x_device_id: Annotated[str | None, Header(description="The device's id.")] = None,
    x_timestamp: Annotated[str | None, Header(description="Unix seconds, decimal.")] = None,
    x_nonce: Annotated[
        str | None, Header(description="8-64 characters of [A-Za-z0-9_-], fresh per request.")
    ] = None,
    x_signature: Annotated[
        str | None,
        Header(
            description="hex HMAC_SHA256(secret, METHOD\\nTARGET\\nTIMESTAMP\\nNONCE\\n"
            "hex(SHA256(body)))"
        ),
    ] = None,
) -> DeviceAuthenticator:
    """A missing or malformed signature header is refused here, before anything else."""
    signed = SignedRequest(
        method=request.method,
        target=request_target(request),
        body=await request.body(),
        device_id=x_device_id,
        timestamp=x_timestamp,
        nonce=x_nonce,
        signature=x_signature,
        client_ip=request.client.host if request.client else None,
    )
    service.well_formed(signed)
    return DeviceAuthenticator(signed, settings, request.app.state.nonce_store)


SignedDevice = Annotated[DeviceAuthenticator, Depends(signed_request)]


async def device_auth(request: Request, signed: SignedDevice) -> AuthenticatedDevice:
    """Authenticates in a short transaction of its own (within the devices' share of the
    connections), committed before the route runs: the nonce and last seen are kept even when
    the route fails."""
    traffic: DeviceTraffic = request.app.state.device_traffic
    async with traffic.transaction() as session:
        return await signed.authenticate(session)


DeviceAuth = Annotated[AuthenticatedDevice, Depends(device_auth)]

# Declare on every route that takes DeviceAuth, so the OpenAPI document lists the refusals.
DEVICE_AUTH_RESPONSES: dict[int | str, dict[str, str]] = {
    401: {
        "description": "signature_missing, signature_malformed, clock_skew (with server_time), "
        "device_unknown, device_revoked, signature_invalid, replayed"
    },
    403: {"description": "account_banned: the device's owner is banned"},
    413: {"description": "payload_too_large: the EA API takes bodies up to 64 KiB"},
}
