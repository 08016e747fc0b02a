"""CTA links. A URL button points at our signed redirect `/r/{token}`, the token binding the
broadcast, the recipient and the button; a Mini App button opens the Mini App with a `startapp`
parameter that the Mini App reports on launch."""

from __future__ import annotations

import base64
import binascii
import hmac
import re
import struct
from dataclasses import dataclass

from signalhub.config import Settings
from signalhub.kit.crypto import hmac_sha256

_PAYLOAD = struct.Struct(">QQB")
_SIGNATURE_BYTES = 16
_START_PARAM = re.compile(r"^bc(\d{1,18})_(\d)$")


@dataclass(frozen=True)
class CtaTarget:
    broadcast_id: int
    user_id: int
    button: int


def _key(settings: Settings) -> bytes:
    # Derived, so a CTA token can never pass for an access token or the other way round.
    return hmac_sha256(settings.jwt_key().encode(), b"signalhub marketing cta links")


def sign(settings: Settings, target: CtaTarget) -> str:
    payload = _PAYLOAD.pack(target.broadcast_id, target.user_id, target.button)
    return _encode(payload + hmac_sha256(_key(settings), payload)[:_SIGNATURE_BYTES])


def verify(settings: Settings, token: str) -> CtaTarget | None:
    """None for anything we did not sign, however it was damaged."""
    try:
        raw = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4))
    except (binascii.Error, ValueError):
        return None
    if len(raw) != _PAYLOAD.size + _SIGNATURE_BYTES:
        return None
    payload, signature = raw[: _PAYLOAD.size], raw[_PAYLOAD.size :]
    expected = hmac_sha256(_key(settings), payload)[:_SIGNATURE_BYTES]
    # Re-encoding rejects a second spelling of the same bytes (non-canonical base64).
    if not hmac.compare_digest(signature, expected) or _encode(raw) != token:
        return None
    return CtaTarget(*_PAYLOAD.unpack(payload))


def _encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def redirect_url(settings: Settings, target: CtaTarget) -> str:
    return f"{settings.public_url.rstrip('/')}/r/{sign(settings, target)}"


def start_param(broadcast_id: int, button: int) -> str:
    """Telegram allows [A-Za-z0-9_-] in startapp; the Mini App sends it back with its
    signed-in user, so it needs no signature of its own."""
    return f"bc{broadcast_id}_{button}"


def parse_start_param(value: str) -> tuple[int, int] | None:
    match = _START_PARAM.match(value)
    if match is None:
        return None
    return int(match.group(1)), int(match.group(2))


def mini_app_url(bot_username: str, broadcast_id: int, button: int) -> str:
    return f"https://t.me/{bot_username}?startapp={start_param(broadcast_id, button)}"
