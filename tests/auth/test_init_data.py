from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlencode

import pytest
from hypothesis import given
from hypothesis import strategies as st

from signalhub.auth import init_data
from signalhub.auth.init_data import InitDataError
from tests.conftest import TEST_BOT_TOKEN
from tests.factories import signed_init_data

MAX_AGE = timedelta(days=1)


def validate(raw: str, now: datetime | None = None) -> init_data.InitData:
    return init_data.validate(raw, TEST_BOT_TOKEN, now=now or datetime.now(UTC), max_age=MAX_AGE)


def test_telegram_published_vector() -> None:
    """Telegram's algorithm, checked independently: secret = HMAC("WebAppData", token)."""
    import hashlib
    import hmac

    raw = signed_init_data(777, username="vector")
    fields = dict(parse_qsl(raw))
    check = "\n".join(f"{k}={v}" for k, v in sorted(fields.items()) if k != "hash")
    secret = hmac.new(b"WebAppData", TEST_BOT_TOKEN.encode(), hashlib.sha256).digest()
    assert fields["hash"] == hmac.new(secret, check.encode(), hashlib.sha256).hexdigest()
    parsed = validate(raw)
    assert parsed.user.telegram_id == 777
    assert parsed.user.username == "vector"


def test_one_changed_field_is_rejected() -> None:
    fields = dict(parse_qsl(signed_init_data(555)))
    fields["user"] = fields["user"].replace("555", "556")
    with pytest.raises(InitDataError) as error:
        validate(urlencode(fields))
    assert error.value.code == "init_data_bad_signature"


def test_missing_hash_is_rejected() -> None:
    fields = dict(parse_qsl(signed_init_data()))
    del fields["hash"]
    with pytest.raises(InitDataError) as error:
        validate(urlencode(fields))
    assert error.value.code == "init_data_missing_hash"


def test_stale_auth_date_is_rejected() -> None:
    stale = int(time.time()) - int(MAX_AGE.total_seconds()) - 5
    with pytest.raises(InitDataError) as error:
        validate(signed_init_data(auth_date=stale))
    assert error.value.code == "init_data_expired"


def test_future_auth_date_is_rejected() -> None:
    with pytest.raises(InitDataError) as error:
        validate(signed_init_data(auth_date=int(time.time()) + 3600))
    assert error.value.code == "init_data_from_future"


def test_other_bot_token_is_rejected() -> None:
    with pytest.raises(InitDataError):
        validate(signed_init_data(bot_token="987654:OtherBotTokenOtherBotTokenOther"))


@pytest.mark.parametrize(
    "raw",
    ["", "no-equals-sign", "a=1&a=2&hash=abc", "%%%"],
)
def test_malformed_input_is_rejected(raw: str) -> None:
    with pytest.raises(InitDataError):
        validate(raw)


def test_signed_but_without_user_is_rejected() -> None:
    raw = init_data.sign({"auth_date": str(int(time.time()))}, TEST_BOT_TOKEN)
    with pytest.raises(InitDataError, match="no user"):
        validate(raw)


def test_signed_but_malformed_user_is_rejected() -> None:
    raw = init_data.sign({"auth_date": str(int(time.time())), "user": "{"}, TEST_BOT_TOKEN)
    with pytest.raises(InitDataError, match="malformed"):
        validate(raw)


def test_signed_but_bad_auth_date_is_rejected() -> None:
    raw = init_data.sign({"auth_date": "yesterday", "user": '{"id":1}'}, TEST_BOT_TOKEN)
    with pytest.raises(InitDataError, match="auth_date"):
        validate(raw)


field_text = st.text(
    alphabet=st.characters(codec="utf-8", exclude_categories=["Cs"]), min_size=0, max_size=40
)


@given(
    extra=st.dictionaries(
        st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12).filter(
            lambda key: key not in {"hash", "user", "auth_date", "query_id"}
        ),
        field_text,
        max_size=4,
    ),
    tampered_value=field_text,
)
def test_any_signed_data_round_trips_and_any_change_breaks_it(
    extra: dict[str, str], tampered_value: str
) -> None:
    raw = signed_init_data(31337, extra=extra)
    assert validate(raw).fields == {k: v for k, v in parse_qsl(raw, keep_blank_values=True)}

    fields = dict(parse_qsl(raw, keep_blank_values=True))
    key = sorted(extra)[0] if extra else "query_id"
    if fields[key] == tampered_value:
        return
    fields[key] = tampered_value
    with pytest.raises(InitDataError):
        validate(urlencode(fields))
