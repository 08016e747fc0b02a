"""Access tokens: a token verified once is not verified again on every request, and what the
shortcut keeps never outlives the token or crosses keys."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta, tzinfo

import jwt
import pytest

from signalhub.kit import crypto
from signalhub.kit.crypto import decode_jwt, encode_jwt

KEY = "k" * 40
OTHER_KEY = "o" * 40
CLAIMS = {"sub": "7", "ver": 2}


def issued(ttl: timedelta = timedelta(minutes=15), key: str = KEY) -> str:
    return encode_jwt(CLAIMS, key, datetime.now(UTC), ttl)


def test_a_token_reads_the_same_the_second_time() -> None:
    token = issued()
    first = decode_jwt(token, KEY)
    first["sub"] = "changed by a caller"
    second = decode_jwt(token, KEY)
    assert second["sub"] == "7"
    assert second["ver"] == 2
    assert second["jti"] == decode_jwt(token, KEY)["jti"]


def test_a_token_verified_under_one_key_is_refused_under_another() -> None:
    token = issued()
    decode_jwt(token, KEY)
    with pytest.raises(jwt.InvalidSignatureError):
        decode_jwt(token, OTHER_KEY)


def test_a_verified_token_is_refused_once_it_expires(monkeypatch: pytest.MonkeyPatch) -> None:
    token = issued(ttl=timedelta(seconds=60))
    decode_jwt(token, KEY)
    later = time.time() + 61
    monkeypatch.setattr(crypto.time, "time", lambda: later)
    monkeypatch.setattr(jwt.api_jwt, "datetime", _Clock(later))
    with pytest.raises(jwt.ExpiredSignatureError):
        decode_jwt(token, KEY)


def test_an_altered_token_is_refused_after_the_genuine_one_was_seen() -> None:
    token = issued()
    decode_jwt(token, KEY)
    header, payload, signature = token.split(".")
    with pytest.raises(jwt.InvalidTokenError):
        decode_jwt(f"{header}.{payload}.{signature[:-4]}AAAA", KEY)


def test_the_verified_tokens_kept_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(crypto, "VERIFIED_TOKENS_KEPT", 5)
    monkeypatch.setattr(crypto, "_verified", {})
    tokens = [issued() for _ in range(12)]
    for token in tokens:
        decode_jwt(token, KEY)
    assert len(crypto._verified) == 5
    assert decode_jwt(tokens[0], KEY)["sub"] == "7"


class _Clock:
    """Stands in for PyJWT's `datetime`, which it reads the time from."""

    def __init__(self, at: float) -> None:
        self.at = at

    def now(self, tz: tzinfo | None = None) -> datetime:
        return datetime.fromtimestamp(self.at, tz)
