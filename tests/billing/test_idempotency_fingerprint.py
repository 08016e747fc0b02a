"""The request fingerprint: the same request however a client encodes it, another request as
soon as anything that matters differs."""

from __future__ import annotations

import json
import random

from hypothesis import given
from hypothesis import strategies as st

from signalhub.billing.idempotency import fingerprint

bodies = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(st.integers(), st.text(max_size=8), st.booleans(), st.none()),
    max_size=6,
)


@given(body=bodies, seed=st.integers(0, 2**32))
def test_key_order_and_whitespace_do_not_change_the_fingerprint(
    body: dict[str, object], seed: int
) -> None:
    items = list(body.items())
    random.Random(seed).shuffle(items)
    compact = json.dumps(body, separators=(",", ":")).encode()
    reencoded = json.dumps(dict(items), indent=2, ensure_ascii=True).encode()
    assert fingerprint("POST", "/api/v1/payments", compact) == fingerprint(
        "POST", "/api/v1/payments", reencoded
    )


@given(body=bodies, other=bodies)
def test_another_body_method_or_path_changes_it(
    body: dict[str, object], other: dict[str, object]
) -> None:
    encoded = json.dumps(body).encode()
    same = fingerprint("POST", "/api/v1/payments", encoded)
    equal = json.dumps(body, sort_keys=True) == json.dumps(other, sort_keys=True)
    assert (fingerprint("POST", "/api/v1/payments", json.dumps(other).encode()) == same) == equal
    assert fingerprint("PUT", "/api/v1/payments", encoded) != same
    assert fingerprint("POST", "/api/v1/payment", encoded) != same


def test_a_body_that_is_not_json_is_compared_as_bytes() -> None:
    assert fingerprint("POST", "/p", b"\xff{") == fingerprint("POST", "/p", b"\xff{")
    assert fingerprint("POST", "/p", b"\xff{") != fingerprint("POST", "/p", b"\xff{ ")
