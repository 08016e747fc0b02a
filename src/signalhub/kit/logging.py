"""JSON logs, one object a line, with the request id; secrets are masked before writing."""

from __future__ import annotations

import json
import logging
import re
import sys
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

request_id_var: ContextVar[str | None] = ContextVar("request_id", default=None)

# `extra={NOT_MASKED: True}` marks a record built only from fields that cannot hold a secret
# (the access line: method, route template, status, duration, a validated request id). Masking
# is the costliest part of a line, and the access line is written for every request.
NOT_MASKED = "_not_masked"

# Bot tokens inside Bot API URLs, bearer tokens and Stripe keys, even when not configured here.
_SECRET_PATTERNS = [
    r"\b\d{5,}:[A-Za-z0-9_-]{30,}\b",
    r"(?P<bearer>(?i:bearer)\s+)[A-Za-z0-9._~+/=-]+",
    r"\b(?:sk|rk|whsec)_(?:live|test)?_?[A-Za-z0-9]{8,}\b",
]
_STANDARD_ATTRS = set(logging.makeLogRecord({}).__dict__) | {
    "message",
    "asctime",
    "taskName",
    "color_message",
}


class SecretMasker:
    """Masks configured secrets and anything shaped like one. Every line is masked, so this is
    one compiled pattern and one pass: a line without secrets costs a single regex scan."""

    def __init__(self) -> None:
        self._values: set[str] = set()
        self._pattern = self._compile()

    def add(self, *values: str | None) -> None:
        self._values.update(value for value in values if value and len(value) >= 6)
        self._pattern = self._compile()

    def _compile(self) -> re.Pattern[str]:
        # Longest first, so a secret that contains another is masked whole.
        values = [re.escape(value) for value in sorted(self._values, key=len, reverse=True)]
        return re.compile("|".join([*values, *_SECRET_PATTERNS]))

    def mask(self, text: str) -> str:
        return self._pattern.sub(_masked, text)


def _masked(match: re.Match[str]) -> str:
    return (match.group("bearer") or "") + "***"


masker = SecretMasker()


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
            # `serve --workers N` interleaves N processes on one stream.
            "pid": record.process,
        }
        request_id = request_id_var.get()
        if request_id:
            entry["request_id"] = request_id
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        line = json.dumps(entry, default=str)
        return line if getattr(record, NOT_MASKED, False) else masker.mask(line)


def configure(level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers[:] = []
        logger.propagate = True
    logging.getLogger("uvicorn.access").setLevel(logging.WARNING)
