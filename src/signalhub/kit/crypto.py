"""HMAC, hashing, JWT and at-rest encryption helpers shared by every domain."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from datetime import datetime, timedelta
from typing import Any

import jwt
from cryptography.fernet import Fernet, InvalidToken

JWT_ALGORITHM = "HS256"


def hmac_sha256(key: bytes, message: bytes) -> bytes:
    return hmac.new(key, message, hashlib.sha256).digest()


def hmac_sha256_hex(key: bytes, message: bytes) -> str:
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def constant_time_equals(left: str, right: str) -> bool:
    return hmac.compare_digest(left.encode(), right.encode())


def sha256_hex(data: bytes | str) -> str:
    if isinstance(data, str):
        data = data.encode()
    return hashlib.sha256(data).hexdigest()


def random_token(nbytes: int = 32) -> str:
    return secrets.token_urlsafe(nbytes)


def encode_jwt(claims: dict[str, Any], key: str, now: datetime, ttl: timedelta) -> str:
    payload = {
        **claims,
        "iat": int(now.timestamp()),
        "exp": int((now + ttl).timestamp()),
        "jti": uuid.uuid4().hex,
    }
    return jwt.encode(payload, key, algorithm=JWT_ALGORITHM)


def decode_jwt(token: str, key: str) -> dict[str, Any]:
    """Raises jwt.InvalidTokenError for a bad signature, an expired token or missing claims."""
    claims = _verified.get((key, token))
    if claims is not None and claims["exp"] > time.time():
        return dict(claims)
    claims = jwt.decode(
        token, key, algorithms=[JWT_ALGORITHM], options={"require": ["exp", "iat", "sub", "jti"]}
    )
    if len(_verified) >= VERIFIED_TOKENS_KEPT:
        del _verified[next(iter(_verified))]
    _verified[(key, token)] = claims
    return dict(claims)


# A client sends the same access token with every request until it expires. Verifying it again
# (PyJWT's checks, the HMAC, two base64 and one JSON decode) was a tenth of an authenticated
# read's CPU; a token seen valid under a key stays valid under it until its `exp`, which is still
# checked on every use. Revocation never rested on this check: a ban moves the user's token
# version, which `CurrentUser` compares on every request.
VERIFIED_TOKENS_KEPT = 10_000
_verified: dict[tuple[str, str], dict[str, Any]] = {}


class SecretBox:
    """Encrypts small secrets at rest with Fernet (AES-128-CBC + HMAC-SHA256, authenticated):
    a stolen database dump alone does not reveal them."""

    def __init__(self, key: str) -> None:
        self._fernet = Fernet(key)

    def seal(self, plaintext: str) -> str:
        return self._fernet.encrypt(plaintext.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        """Raises SecretBoxError when the token was not sealed with this key or was altered."""
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except InvalidToken:
            raise SecretBoxError("sealed with another key, or altered") from None


class SecretBoxError(Exception):
    pass
