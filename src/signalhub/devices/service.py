"""The device registry and the authentication of signed device requests."""

from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.audit import service as audit
from signalhub.config import Settings
from signalhub.devices import signing
from signalhub.devices.nonces import NonceStore
from signalhub.devices.repository import DeviceNonceRepository, DeviceRepository
from signalhub.entitlements import service as entitlements
from signalhub.errors import Forbidden, NotFound, Unauthorized
from signalhub.kit.crypto import SecretBox, SecretBoxError, random_token
from signalhub.models import Device, DeviceStatus, Tier
from signalhub.users.service import AccountBanned

logger = logging.getLogger(__name__)

# What the catalog's features promise ("One MT5 device", "Up to 3", "Up to 20").
DEVICE_LIMITS = {Tier.free: 0, Tier.premium: 1, Tier.vip: 3, Tier.enterprise: 20}
SECRET_BYTES = 32
# Architecture section 6: timestamps within ±300 s, nonces remembered for twice that.
CLOCK_SKEW_S = 300
NONCE_TTL_S = 600
# Last seen is a write; a device polling every few seconds updates it at most this often.
LAST_SEEN_RESOLUTION = timedelta(minutes=1)
# Decrypted secrets a process keeps (a few MB at most); more devices than this per process only
# means some are decrypted again.
OPENED_SECRETS_MAX = 20_000


@lru_cache(maxsize=4)
def _secret_box(key: str) -> SecretBox:
    return SecretBox(key)


def secret_box(settings: Settings) -> SecretBox:
    return _secret_box(settings.device_secret_fernet_key())


class OpenedSecrets:
    """Device secrets decrypted once per process instead of on every signed request, the least
    recently used dropped beyond `max_entries`. An entry answers only for the ciphertext and the
    box it was opened with, so a changed key or secret is never served from memory. Revocation
    does not rest on it: a device's status is read from the database on every request (and
    revoking drops the entry here)."""

    def __init__(self, max_entries: int) -> None:
        self._max_entries = max_entries
        self._opened: OrderedDict[int, tuple[SecretBox, str, str]] = OrderedDict()

    def open(self, box: SecretBox, device_id: int, sealed: str) -> str:
        """Raises SecretBoxError like `SecretBox.open`."""
        entry = self._opened.get(device_id)
        if entry is not None and entry[0] is box and entry[1] == sealed:
            self._opened.move_to_end(device_id)
            return entry[2]
        secret = box.open(sealed)
        self._opened[device_id] = (box, sealed, secret)
        self._opened.move_to_end(device_id)
        if len(self._opened) > self._max_entries:
            self._opened.popitem(last=False)
        return secret

    def forget(self, device_id: int) -> None:
        self._opened.pop(device_id, None)

    def __len__(self) -> int:
        return len(self._opened)


opened_secrets = OpenedSecrets(OPENED_SECRETS_MAX)


def mask(secret: str) -> str:
    return f"{secret[:4]}…{secret[-4:]}"


@dataclass(frozen=True)
class Registration:
    device: Device
    secret: str


async def register(
    session: AsyncSession, settings: Settings, user_id: int, name: str, now: datetime
) -> Registration:
    """A new device with a fresh secret, within the user's tier limit. The secret leaves the
    server only in this answer."""
    repository = DeviceRepository(session)
    if not await repository.lock_owner(user_id):
        raise NotFound("User not found.", code="user_not_found")
    tier = (await entitlements.current(session, user_id, now)).tier
    limit = DEVICE_LIMITS[tier]
    if await repository.count_active(user_id) >= limit:
        raise Forbidden(_limit_message(tier, limit), code="device_limit", details={"limit": limit})
    secret = random_token(SECRET_BYTES)
    device = await repository.add(
        Device(
            user_id=user_id,
            name=name,
            secret_encrypted=secret_box(settings).seal(secret),
            secret_hint=mask(secret),
            status=DeviceStatus.active,
            created_at=now,
        )
    )
    await audit_device(session, "device.registered", device, {"name": name, "tier": tier.value})
    return Registration(device, secret)


async def audit_device(
    session: AsyncSession, action: str, device: Device | AuthenticatedDevice, data: dict[str, Any]
) -> None:
    """The owner is the actor of everything a device or its registry does."""
    await audit.record(
        session,
        action,
        subject_type="device",
        subject_id=device.id,
        user_id=device.user_id,
        actor_user_id=device.user_id,
        data=data,
    )


def _limit_message(tier: Tier, limit: int) -> str:
    if limit == 0:
        return "The Free plan includes no MT5 devices; upgrade to Premium to connect one."
    plural = "device" if limit == 1 else "devices"
    return (
        f"Your {tier.value.title()} plan allows {limit} active {plural}; "
        "remove one or upgrade to add another."
    )


async def list_devices(session: AsyncSession, user_id: int) -> list[Device]:
    return list(await DeviceRepository(session).list_for_user(user_id))


async def owned(session: AsyncSession, user_id: int, device_id: int) -> Device:
    """Another user's device is as missing as one that never existed."""
    device = await DeviceRepository(session).get_owned(user_id, device_id)
    if device is None:
        raise NotFound("Device not found.", code="device_not_found")
    return device


async def rename(session: AsyncSession, user_id: int, device_id: int, name: str) -> Device:
    device = await owned(session, user_id, device_id)
    if device.name != name:
        previous, device.name = device.name, name
        await session.flush()
        await audit_device(session, "device.renamed", device, {"from": previous, "to": name})
    return device


async def revoke(session: AsyncSession, user_id: int, device_id: int, now: datetime) -> Device:
    """Takes effect on the device's next request; revoking twice changes nothing."""
    device = await owned(session, user_id, device_id)
    if device.status != DeviceStatus.revoked:
        device.status = DeviceStatus.revoked
        device.revoked_at = now
        await session.flush()
        opened_secrets.forget(device.id)
        await audit_device(session, "device.revoked", device, {"name": device.name})
    return device


@dataclass(frozen=True)
class AuthenticatedDevice:
    """Plain data, not a session-bound row: the EA routes outlive the authenticating
    transaction (a long poll holds no database connection while it waits)."""

    id: int
    user_id: int
    name: str


@dataclass(frozen=True)
class SignedRequest:
    method: str
    target: str
    body: bytes
    device_id: str | None
    timestamp: str | None
    nonce: str | None
    signature: str | None
    client_ip: str | None


async def authenticate(
    session: AsyncSession,
    settings: Settings,
    nonces: NonceStore,
    request: SignedRequest,
    now: datetime,
) -> AuthenticatedDevice:
    """Checks in order of cost, each failure a 401 with its own code: headers present and well
    formed, clock, device, signature (constant time), and only then the nonce, so a forged
    request cannot burn a real device's nonces."""
    device_id, timestamp, nonce, signature = well_formed(request)
    server_time = int(now.timestamp())
    if abs(int(timestamp) - server_time) > CLOCK_SKEW_S:
        raise Unauthorized(
            f"X-Timestamp is more than {CLOCK_SKEW_S} s away from the server's "
            f"clock ({server_time}); correct the device's clock.",
            code="clock_skew",
            details={"server_time": server_time},
        )
    repository = DeviceRepository(session)
    device = await repository.credentials(device_id)
    if device is None:
        raise Unauthorized("No device has this X-Device-Id.", code="device_unknown")
    if device.status != DeviceStatus.active:
        raise Unauthorized("This device was removed; register it again.", code="device_revoked")
    try:
        secret = opened_secrets.open(secret_box(settings), device.id, device.secret_encrypted)
    except SecretBoxError:
        logger.error(
            "device secret unreadable: SIGNALHUB_DEVICE_SECRET_KEY changed?",
            extra={"device_id": device.id},
        )
        raise Unauthorized(
            "This device's secret cannot be read on the server; register it again.",
            code="device_secret_unreadable",
        ) from None
    if not signing.signature_matches(
        secret, signature, request.method, request.target, timestamp, nonce, request.body
    ):
        raise Unauthorized(
            "X-Signature does not match this request; check the secret and the signing recipe.",
            code="signature_invalid",
        )
    # Only a correctly signed request learns that the owner is banned.
    if device.owner_banned:
        raise AccountBanned()
    if not await nonces.remember(session, device.id, nonce, now, NONCE_TTL_S):
        raise Unauthorized(
            "This X-Nonce was already used; send a fresh one with every request.",
            code="replayed",
        )
    last_seen = device.last_seen_at
    if last_seen is None or now - last_seen >= LAST_SEEN_RESOLUTION:
        await repository.touch(device.id, request.client_ip, now, now - LAST_SEEN_RESOLUTION)
    return AuthenticatedDevice(device.id, device.user_id, device.name)


def well_formed(request: SignedRequest) -> tuple[int, str, str, str]:
    """The four signature headers, parsed; a 401 when one is missing or malformed."""
    headers = (
        (signing.DEVICE_ID_HEADER, request.device_id, signing.DEVICE_ID_PATTERN),
        (signing.TIMESTAMP_HEADER, request.timestamp, signing.TIMESTAMP_PATTERN),
        (signing.NONCE_HEADER, request.nonce, signing.NONCE_PATTERN),
        (signing.SIGNATURE_HEADER, request.signature, signing.SIGNATURE_PATTERN),
    )
    missing = [name for name, value, _ in headers if not value]
    if missing:
        raise Unauthorized(
            f"Signed request expected; missing {', '.join(missing)}.", code="signature_missing"
        )
    values = []
    for name, value, pattern in headers:
        if value is None or pattern.fullmatch(value) is None:
            raise Unauthorized(f"{name} is malformed.", code="signature_malformed")
        values.append(value)
    device_id, timestamp, nonce, signature = values
    if int(device_id) > 2**63 - 1:
        raise Unauthorized(f"{signing.DEVICE_ID_HEADER} is malformed.", code="signature_malformed")
    return int(device_id), timestamp, nonce, signature


async def purge_nonces(session: AsyncSession, now: datetime) -> int:
    """Worker job: the database replay store keeps only the replay window."""
    return await DeviceNonceRepository(session).delete_older_than(
        now - timedelta(seconds=NONCE_TTL_S)
    )
