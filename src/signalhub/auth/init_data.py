"""Telegram Mini App initData validation, exactly as Telegram specifies:
https://core.telegram.org/bots/webapps#validating-data-received-via-the-mini-app"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import parse_qsl, urlencode

from signalhub.errors import Unauthorized
from signalhub.kit.crypto import constant_time_equals, hmac_sha256, hmac_sha256_hex

# Telegram's clock and ours may differ by a little; more than this in the future is forged.
FUTURE_SKEW = timedelta(seconds=60)


@dataclass(frozen=True)
class InitDataUser:
    telegram_id: int
    username: str | None
    first_name: str | None
    language_code: str | None
    is_telegram_premium: bool


@dataclass(frozen=True)
class InitData:
    user: InitDataUser
    auth_date: datetime
    fields: dict[str, str]


class InitDataError(Unauthorized):
    code = "init_data_invalid"


def _secret_key(bot_token: str) -> bytes:
    return hmac_sha256(b"WebAppData", bot_token.encode())


def _data_check_string(fields: dict[str, str]) -> str:
    return "\n".join(f"{key}={fields[key]}" for key in sorted(fields) if key != "hash")


def sign(fields: dict[str, str], bot_token: str) -> str:
    """Builds a signed initData string, as Telegram would: used by `demo-link` and the tests."""
    digest = hmac_sha256_hex(_secret_key(bot_token), _data_check_string(fields).encode())
    return urlencode({**fields, "hash": digest})


def validate(raw: str, bot_token: str, *, now: datetime, max_age: timedelta) -> InitData:
    try:
        pairs = parse_qsl(raw, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise InitDataError("initData is not a query string.") from None
    fields = dict(pairs)
    if len(fields) != len(pairs):
        raise InitDataError("initData repeats a field.")
    received_hash = fields.get("hash")
    if not received_hash:
        raise InitDataError("initData has no hash.", code="init_data_missing_hash")
    expected = hmac_sha256_hex(_secret_key(bot_token), _data_check_string(fields).encode())
    if not constant_time_equals(expected, received_hash):
        raise InitDataError("initData signature does not match.", code="init_data_bad_signature")

    try:
        auth_date = datetime.fromtimestamp(int(fields["auth_date"]), tz=now.tzinfo)
    except (KeyError, ValueError, OverflowError, OSError):
        raise InitDataError("initData has no valid auth_date.") from None
    if auth_date > now + FUTURE_SKEW:
        raise InitDataError("initData auth_date is in the future.", code="init_data_from_future")
    if now - auth_date > max_age:
        raise InitDataError("initData is too old; reopen the Mini App.", code="init_data_expired")

    return InitData(user=_parse_user(fields.get("user")), auth_date=auth_date, fields=fields)


def _parse_user(raw_user: str | None) -> InitDataUser:
    if raw_user is None:
        raise InitDataError("initData has no user.")
    try:
        data = json.loads(raw_user)
        telegram_id = int(data["id"])
    except (ValueError, TypeError, KeyError):
        raise InitDataError("initData user is malformed.") from None
    return InitDataUser(
        telegram_id=telegram_id,
        username=_optional_str(data.get("username")),
        first_name=_optional_str(data.get("first_name")),
        language_code=_optional_str(data.get("language_code")),
        is_telegram_premium=bool(data.get("is_premium", False)),
    )


def _optional_str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None
