"""How a device signs a request, shared by the server, `signalhub device run` and the tests.

    X-Signature = hex(HMAC_SHA256(secret,
                                  METHOD \\n TARGET \\n TIMESTAMP \\n NONCE \\n hex(SHA256(body))))

TARGET is the request path as sent, with its query string when there is one
(`/api/v1/ea/poll?wait=25`), so the parameters are signed too. TIMESTAMP is the X-Timestamp header
(unix seconds, decimal) and NONCE the X-Nonce header, both exactly as sent. The key is the device
secret's UTF-8 text. The README documents a test vector; `tests/devices/test_signing.py` holds it.
"""

from __future__ import annotations

import re
import secrets
import time
from dataclasses import dataclass

from signalhub.kit.crypto import constant_time_equals, hmac_sha256_hex, sha256_hex

DEVICE_ID_HEADER = "X-Device-Id"
TIMESTAMP_HEADER = "X-Timestamp"
NONCE_HEADER = "X-Nonce"
SIGNATURE_HEADER = "X-Signature"

NONCE_PATTERN = re.compile(r"[A-Za-z0-9_-]{8,64}")
SIGNATURE_PATTERN = re.compile(r"[0-9a-fA-F]{64}")
TIMESTAMP_PATTERN = re.compile(r"[0-9]{1,12}")
DEVICE_ID_PATTERN = re.compile(r"[1-9][0-9]{0,18}")


def string_to_sign(method: str, target: str, timestamp: str, nonce: str, body: bytes) -> bytes:
    return "\n".join((method.upper(), target, timestamp, nonce, sha256_hex(body))).encode()


def sign(secret: str, method: str, target: str, timestamp: str, nonce: str, body: bytes) -> str:
    return hmac_sha256_hex(secret.encode(), string_to_sign(method, target, timestamp, nonce, body))


def signature_matches(
    secret: str,
    signature: str,
    method: str,
    target: str,
    timestamp: str,
    nonce: str,
    body: bytes,
) -> bool:
    expected = sign(secret, method, target, timestamp, nonce, body)
    return constant_time_equals(expected, signature.lower())


@dataclass(frozen=True)
class SignedHeaders:
    device_id: str
    timestamp: str
    nonce: str
    signature: str

    def as_dict(self) -> dict[str, str]:
        return {
            DEVICE_ID_HEADER: self.device_id,
            TIMESTAMP_HEADER: self.timestamp,
            NONCE_HEADER: self.nonce,
            SIGNATURE_HEADER: self.signature,
        }


def signed_headers(
    device_id: int,
    secret: str,
    method: str,
    target: str,
    body: bytes = b"",
    *,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    """What a device sends: a fresh nonce and the current time unless given."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(16)
    signature = sign(secret, method, target, stamp, nonce, body)
    return SignedHeaders(str(device_id), stamp, nonce, signature).as_dict()
