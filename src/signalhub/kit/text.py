"""Text that PostgreSQL can store: no NUL (text columns refuse 0x00) and no unpaired surrogate
(it has no UTF-8 encoding). Input we must refuse is checked with `is_storable`; display text that
Telegram hands us (names, captions) is cleaned with `display_text` instead, since refusing it
would refuse the user."""

from __future__ import annotations

import re

_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_storable(value: str) -> bool:
    return _UNSTORABLE.search(value) is None


def display_text(value: str, max_length: int | None = None) -> str:
    """`value` without NUL and unpaired surrogates, cut to `max_length` characters."""
    return _UNSTORABLE.sub("", value)[:max_length]
