"""The signing recipe, pinned by the test vector the README documents for EA authors."""

from __future__ import annotations

import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalhub.devices import signing
from signalhub.kit.crypto import SecretBox, SecretBoxError
from tests.conftest import TEST_DEVICE_SECRET_KEY

VECTOR_SECRET = "sh_test_vector_secret_0123456789abcdefghijk"
VECTOR_BODY = b'{"approval_id":42,"status":"executed","ticket":123456,"price":1.08512}'


def test_the_documented_vector() -> None:
    assert signing.string_to_sign(
        "POST", "/api/v1/ea/ack", "1767225600", "n0nce-0001-abcdef", VECTOR_BODY
    ) == (
        b"POST\n/api/v1/ea/ack\n1767225600\nn0nce-0001-abcdef\n"
        b"32892959cc25021564a88edf4a4531c20abe6ce39cc5a71a374e28742bbeb469"
    )
    assert (
        signing.sign(
            VECTOR_SECRET, "POST", "/api/v1/ea/ack", "1767225600", "n0nce-0001-abcdef", VECTOR_BODY
        )
        == "ce808e30f9b88d52a8b7d754300daae0bbda8e4e67caf59480af25b9981fd1d7"
    )
    assert (
        signing.sign(
            VECTOR_SECRET, "GET", "/api/v1/ea/poll?wait=25", "1767225600", "n0nce-0002-abcdef", b""
        )
        == "04df9d2cc9210fe44b97218b6735e6fe607ae916add57b71ff84df3bf9df4193"
    )


def test_upper_case_hex_is_accepted() -> None:
    signature = signing.sign(VECTOR_SECRET, "GET", "/x", "1", "nonce-123", b"")
    assert signing.signature_matches(
        VECTOR_SECRET, signature.upper(), "GET", "/x", "1", "nonce-123", b""
    )


parts = st.fixed_dictionaries(
    {
        "method": st.sampled_from(["GET", "POST"]),
        # A request target never holds a line break (HTTP forbids it).
        "target": st.text(
            st.characters(exclude_categories=["Cs"], exclude_characters="\r\n"),
            min_size=1,
            max_size=40,
        ),
        "timestamp": st.integers(0, 10**11).map(str),
        "nonce": st.from_regex(signing.NONCE_PATTERN, fullmatch=True),
        "body": st.binary(max_size=200),
    }
)


@given(original=parts, altered=parts)
def test_a_signature_holds_for_its_request_only(
    original: dict[str, str], altered: dict[str, str]
) -> None:
    signature = signing.sign(VECTOR_SECRET, **original)  # type: ignore[arg-type]
    assert signing.signature_matches(VECTOR_SECRET, signature, **original)  # type: ignore[arg-type]
    if altered != original:
        assert not signing.signature_matches(VECTOR_SECRET, signature, **altered)  # type: ignore[arg-type]


def test_secret_box_round_trip_and_refuses_another_key() -> None:
    box = SecretBox(TEST_DEVICE_SECRET_KEY)
    sealed = box.seal(VECTOR_SECRET)
    assert VECTOR_SECRET not in sealed
    assert box.open(sealed) == VECTOR_SECRET
    other = SecretBox("b3RoZXItZGV2aWNlLXNlY3JldC1rZXktMzItYnl0ZXM=")
    with pytest.raises(SecretBoxError):
        other.open(sealed)


def test_the_eas_hand_built_hmac_gives_the_vector() -> None:
    """clients/mt5/SignalHubEA.mq5 builds HMAC from SHA-256 itself (MQL5 has no HMAC): key
    zero-padded to 64 bytes, inner pad 0x36, outer pad 0x5c. The same steps, here."""
    key = VECTOR_SECRET.encode().ljust(64, b"\0")
    message = signing.string_to_sign(
        "POST", "/api/v1/ea/ack", "1767225600", "n0nce-0001-abcdef", VECTOR_BODY
    )
    inner = hashlib.sha256(bytes(b ^ 0x36 for b in key) + message).digest()
    outer = hashlib.sha256(bytes(b ^ 0x5C for b in key) + inner).hexdigest()
    assert outer == "ce808e30f9b88d52a8b7d754300daae0bbda8e4e67caf59480af25b9981fd1d7"
