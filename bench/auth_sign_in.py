"""Mini App sign-in throughput: signed initData → tokens, concurrency 16, through the ASGI app
and the real database (PostgreSQL by default; SIGNALHUB_BENCH_DATABASE_URL to change)."""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import httpx

from bench.common import bench_database_url, fresh_database, percentiles_ms
from signalhub.app import create_app
from signalhub.auth import init_data
from signalhub.config import Environment, Settings

BOT_TOKEN = "123456:BenchBotTokenBenchBotTokenBench"
REQUESTS = 2000
CONCURRENCY = 16


def signed(telegram_id: int) -> str:
    user = json.dumps({"id": telegram_id, "first_name": "Bench"})
    return init_data.sign({"user": user, "auth_date": str(int(time.time()))}, BOT_TOKEN)


async def main() -> dict[str, Any]:
    url = bench_database_url()
    database = await fresh_database(url)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        env=Environment.test,
        database_url=url,
        jwt_secret="bench-secret-bench-secret-bench-secret",
        telegram_bot_token=BOT_TOKEN,
        run_worker_in_process=False,
        # One client address sends every request: this measures sign-in, not the limiter.
        signin_rate_limit_per_minute=REQUESTS * 2,
    )
    app = create_app(settings, database)
    payloads = [{"init_data": signed(1_000_000 + index % 500)} for index in range(REQUESTS)]
    latencies: list[float] = []
    queue: asyncio.Queue[dict[str, str]] = asyncio.Queue()
    for payload in payloads:
        queue.put_nowait(payload)

    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                payload = queue.get_nowait()
                started = time.perf_counter()
                response = await client.post("/api/v1/auth/telegram", json=payload)
                latencies.append(time.perf_counter() - started)
                assert response.status_code == 200, response.text

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        elapsed = time.perf_counter() - started
    await database.dispose()
    return {
        "database": database.dialect,
        "requests": REQUESTS,
        "concurrency": CONCURRENCY,
        "sign_ins_per_s": round(REQUESTS / elapsed, 1),
        **percentiles_ms(latencies),
    }
