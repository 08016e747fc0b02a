"""The cost of one JSON log line in microseconds: the access line every request writes (built
from fields that cannot hold a secret, so not masked), and other lines with and without a
secret, through the one-pass masker."""

from __future__ import annotations

import logging
import time
from typing import Any

from bench.server import git_commit
from signalhub.kit.logging import NOT_MASKED, JsonFormatter, masker

LINES = 100_000


def _access_record(path: str) -> logging.LogRecord:
    record = logging.makeLogRecord(
        {"name": "signalhub.http", "levelname": "INFO", "msg": "request"}
    )
    record.__dict__.update({"method": "GET", "path": path, "status": 200, "duration_ms": 1.23})
    return record


def _microseconds_per_call(call: Any) -> float:
    started = time.perf_counter()
    for _ in range(LINES):
        call()
    return round((time.perf_counter() - started) * 1e6 / LINES, 3)


async def main() -> dict[str, Any]:
    masker.add("123456789:AAFakeBenchTokenBenchTokenBenchToken0", "whsec_bench_secret_value_0123")
    formatter = JsonFormatter()
    clean = _access_record("/api/v1/me")
    secret = _access_record("/api/v1/me Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.e30.sig")
    clean_line = formatter.format(clean)
    access = _access_record("/api/v1/me")
    access.__dict__[NOT_MASKED] = True
    return {
        "commit": git_commit(),
        "lines": LINES,
        "access_line_us": _microseconds_per_call(lambda: formatter.format(access)),
        "format_and_mask_clean_line_us": _microseconds_per_call(lambda: formatter.format(clean)),
        "format_and_mask_line_with_secret_us": _microseconds_per_call(
            lambda: formatter.format(secret)
        ),
        "mask_only_clean_line_us": _microseconds_per_call(lambda: masker.mask(clean_line)),
    }
