"""Mini App sign-in (`POST /api/v1/auth/telegram`: signed initData → tokens) against one real
`signalhub serve` process on PostgreSQL, driven by wrk at 16 and 64 connections."""

from __future__ import annotations

import json
import tempfile
import time
from pathlib import Path
from typing import Any

from bench.common import bench_database_url, fresh_database
from bench.server import git_commit, lua_cycle_requests, signalhub_serve, wrk
from signalhub.auth import init_data

BOT_TOKEN = "123456:BenchBotTokenBenchBotTokenBench"
USERS = 2000
DURATION_S = 15
WARM_UP_S = 5


def signed_body(telegram_id: int) -> str:
    user = json.dumps({"id": telegram_id, "first_name": "Bench"})
    payload = init_data.sign({"user": user, "auth_date": str(int(time.time()))}, BOT_TOKEN)
    return json.dumps({"init_data": payload})


async def main() -> dict[str, Any]:
    url = bench_database_url()
    await (await fresh_database(url)).dispose()
    settings = {
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        # One client address sends every request: this measures sign-in, not the limiter.
        "SIGNIN_RATE_LIMIT_PER_MINUTE": str(10**9),
    }
    runs = []
    with tempfile.TemporaryDirectory() as workdir:
        bodies = Path(workdir) / "bodies.txt"
        bodies.write_text("\n".join(signed_body(1_000_000 + n) for n in range(USERS)) + "\n")
        script = lua_cycle_requests("POST", "/api/v1/auth/telegram", bodies, header=None)
        async with signalhub_serve(settings) as server:
            for connections in (16, 64):
                runs.append(
                    await wrk(
                        server,
                        "/api/v1/auth/telegram",
                        connections=connections,
                        duration_s=DURATION_S,
                        lua=script,
                        warm_up_s=WARM_UP_S,
                    )
                )
    return {
        "commit": git_commit(),
        "path": "POST /api/v1/auth/telegram",
        "server": "one `signalhub serve` process, PostgreSQL, load from wrk (own process)",
        "distinct_users": USERS,
        "runs": runs,
    }
