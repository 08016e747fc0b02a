"""Shared by the benchmarks: latency percentiles, and a migrated database to run against."""

from __future__ import annotations

import os
import statistics

from sqlalchemy import URL, make_url, text

from signalhub import migrations
from signalhub.db import Database

# A database of its own: every run drops and rebuilds it.
DEFAULT_DATABASE_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/signalhub_bench"


def bench_database_url() -> str:
    return os.environ.get("SIGNALHUB_BENCH_DATABASE_URL", DEFAULT_DATABASE_URL)


def percentiles_ms(latencies_s: list[float]) -> dict[str, float]:
    ordered = sorted(latencies_s)
    cuts = statistics.quantiles(ordered, n=100, method="inclusive")
    return {
        "p50_ms": round(cuts[49] * 1000, 2),
        "p90_ms": round(cuts[89] * 1000, 2),
        "p99_ms": round(cuts[98] * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


async def fresh_database(url: str) -> Database:
    """Rebuilt through the migrations, like production; a benchmark never reuses old rows."""
    await _create_if_missing(make_url(url))
    database = Database.from_url(url)
    await migrations.rebuild(database)
    return database


async def _create_if_missing(url: URL) -> None:
    if url.get_backend_name() != "postgresql":
        return
    server = Database.from_url(
        url.set(database="postgres").render_as_string(hide_password=False),
        isolation_level="AUTOCOMMIT",
    )
    try:
        async with server.engine.connect() as connection:
            exists = await connection.scalar(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": url.database}
            )
            if not exists:
                await connection.execute(text(f'CREATE DATABASE "{url.database}"'))
    finally:
        await server.dispose()
