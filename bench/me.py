"""Authenticated reads: `GET /api/v1/me` with many users' access tokens against one real
`signalhub serve` process on PostgreSQL with Redis (as in production: the user cache is shared
through it), driven by wrk at 64 connections."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import httpx

from bench.auth_sign_in import BOT_TOKEN, signed_body
from bench.common import bench_database_url, fresh_database
from bench.server import git_commit, lua_cycle_requests, signalhub_serve, wrk

USERS = 500
REDIS_URL = os.environ.get("SIGNALHUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/13")
DURATION_S = 15
WARM_UP_S = 5


async def main() -> dict[str, Any]:
    url = bench_database_url()
    await (await fresh_database(url)).dispose()
    settings = {
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "SIGNIN_RATE_LIMIT_PER_MINUTE": str(10**9),
        "ACCESS_TOKEN_TTL_S": "3600",
    }
    with tempfile.TemporaryDirectory() as workdir:
        async with signalhub_serve(settings) as server:
            async with httpx.AsyncClient(base_url=server.base_url) as client:
                tokens = []
                for n in range(USERS):
                    response = await client.post(
                        "/api/v1/auth/telegram",
                        content=signed_body(2_000_000 + n),
                        headers={"Content-Type": "application/json"},
                    )
                    response.raise_for_status()
                    tokens.append(response.json()["access_token"])
            headers = Path(workdir) / "authorization.txt"
            headers.write_text("".join(f"Bearer {token}\n" for token in tokens))
            script = lua_cycle_requests("GET", "/api/v1/me", headers, header="Authorization")
            run = await wrk(
                server,
                "/api/v1/me",
                connections=64,
                duration_s=DURATION_S,
                lua=script,
                warm_up_s=WARM_UP_S,
            )
    return {
        "commit": git_commit(),
        "path": "GET /api/v1/me",
        "server": "one `signalhub serve` process, PostgreSQL, Redis, load from wrk (own process)",
        "distinct_users": USERS,
        "runs": [run],
    }
