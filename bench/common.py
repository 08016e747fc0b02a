"""Shared by the benchmarks: latency percentiles, and a migrated database to run against."""

from __future__ import annotations

import os
import statistics

from signalhub import migrations
from signalhub.db import Database

DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/test"


def bench_database_url() -> str:
    return os.environ.get("SIGNALHUB_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)


def percentiles_ms(latencies_s: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_s)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


async def fresh_database(url: str) -> Database:
    """Rebuilt through the migrations, like production; a benchmark never reuses old rows."""
    database = Database.from_url(url)
    await migrations.rebuild(database)
    return database
