"""GET /api/v1/positions against ONE real `signalhub serve` process over HTTP, on PostgreSQL and
Redis, 100 concurrent traders each reading their primary account over and over with a warm
cache (every account's snapshot was just pushed by its device, which caches it). Reports p50/p99,
requests/s and the server's CPU time per request (from /proc)."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from bench.common import (
    bench_database_url,
    current_commit,
    free_port,
    fresh_database,
    log_file,
    percentiles_ms,
    tail,
    wait_until_up,
)
from signalhub.auth import init_data
from signalhub.billing import service as billing
from signalhub.catalog import service as catalog
from signalhub.catalog.schemas import ProductCreate
from signalhub.devices.signing import signed_headers
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.models import PaymentProvider, PaymentStatus, Tier
from signalhub.users import service as users

BOT_TOKEN = "123456:BenchBotTokenBenchBotTokenBench"
REDIS_URL = os.environ.get("SIGNALHUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TRADERS = 100
READS_PER_TRADER = 60
POSITIONS_PER_ACCOUNT = 8
FIRST_TELEGRAM_ID = 3_000_000


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def snapshot(login: int) -> dict[str, Any]:
    return {
        "account": {
            "login": login,
            "server": "Bench-Live",
            "company": "Bench Markets",
            "currency": "USD",
            "leverage": 100,
            "trade_mode": "real",
            "balance": 10000,
            "equity": 9876.54,
            "margin": 400.0,
            "margin_free": 9476.54,
            "margin_level": 2469.13,
            "profit": -123.46,
        },
        "positions": [
            {
                "ticket": login * 100 + index,
                "symbol": "EURUSD",
                "type": "buy" if index % 2 else "sell",
                "volume": 0.1,
                "price_open": 1.08512,
                "price_current": 1.08391,
                "sl": 1.08,
                "tp": 1.095,
                "profit": -12.1 + index,
                "swap": -0.35,
                "time": 1764494100 + index,
                "magic": 20240001,
                "comment": "bench",
            }
            for index in range(POSITIONS_PER_ACCOUNT)
        ],
    }


async def grant_enterprise(database: Any) -> None:
    """Every trader may register a device: an Enterprise plan, bought like any other."""
    async with database.transaction() as session:
        product = await catalog.create(
            session,
            ProductCreate(
                code="enterprise_month",
                name="Enterprise",
                tier=Tier.enterprise,
                duration_days=30,
                price_usd_cents=9900,
                price_stars=7500,
            ),
            actor_user_id=None,
        )
        for index in range(TRADERS):
            user = await users.upsert_from_telegram(
                session, users.TelegramProfile(FIRST_TELEGRAM_ID + index), admin_telegram_ids=[]
            )
            payment, _ = await billing.record_payment(
                session,
                provider=PaymentProvider.stripe,
                provider_payment_id=f"pi_bench_positions_{index}",
                user_id=user.id,
                product_id=product.id,
                amount_minor=product.price_usd_cents,
                currency="USD",
                status=PaymentStatus.succeeded,
                now=utcnow(),
            )
            await entitlements.grant(session, product, payment, utcnow())


async def prepare_trader(client: httpx.AsyncClient, index: int) -> dict[str, str]:
    """Signs in, registers a device, links an account and has the device push its snapshot.
    Answers the trader's Authorization header."""
    user = json.dumps({"id": FIRST_TELEGRAM_ID + index, "first_name": "Bench"})
    signed_in = await client.post(
        "/api/v1/auth/telegram",
        json={
            "init_data": init_data.sign(
                {"user": user, "auth_date": str(int(time.time()))}, BOT_TOKEN
            )
        },
    )
    signed_in.raise_for_status()
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    device = await client.post("/api/v1/devices", json={"name": "bench"}, headers=headers)
    device.raise_for_status()
    login = 7_000_000 + index
    linked = await client.post(
        "/api/v1/accounts/link", json={"mt5_login": login, "server": "Bench-Live"}, headers=headers
    )
    linked.raise_for_status()
    body = json.dumps(snapshot(login)).encode()
    signed = signed_headers(
        device.json()["id"], device.json()["secret"], "POST", "/api/v1/ea/snapshot", body
    )
    pushed = await client.post(
        "/api/v1/ea/snapshot",
        content=body,
        headers={**signed, "Content-Type": "application/json"},
    )
    pushed.raise_for_status()
    assert pushed.json()["status"] == "verified", pushed.text
    return headers


async def main() -> dict[str, Any]:
    url = bench_database_url()
    database = await fresh_database(url)
    await grant_enterprise(database)
    await database.dispose()
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()  # a rebuilt database reuses account ids: no cached figures of old ones
    await redis.aclose()

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_DATABASE_URL": url,
        "SIGNALHUB_REDIS_URL": REDIS_URL,
        "SIGNALHUB_JWT_SECRET": "bench-secret-bench-secret-bench-secret",
        "SIGNALHUB_TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "SIGNALHUB_SIGNIN_RATE_LIMIT_PER_MINUTE": "100000",
        "SIGNALHUB_RUN_WORKER_IN_PROCESS": "false",
        # Warm for the whole run: this measures cached reads, the path 100 pollers take.
        "SIGNALHUB_POSITIONS_CACHE_TTL_S": "600",
        "SIGNALHUB_LOG_LEVEL": "WARNING",
        "SIGNALHUB_HOST": "127.0.0.1",
        "SIGNALHUB_PORT": str(port),
    }
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    with tempfile.TemporaryDirectory() as workdir, log_file(Path(workdir)) as log:
        process = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "signalhub.cli",
            "serve",
            env=env,
            cwd=workdir,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            await wait_until_up(base_url, process)
            limits = httpx.Limits(max_connections=TRADERS)
            async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:
                traders = [await prepare_trader(client, index) for index in range(TRADERS)]

                async def trader(headers: dict[str, str]) -> None:
                    for _ in range(READS_PER_TRADER):
                        started = time.perf_counter()
                        response = await client.get("/api/v1/positions", headers=headers)
                        latencies.append(time.perf_counter() - started)
                        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1

                cpu_before = cpu_seconds(process.pid)
                started = time.perf_counter()
                await asyncio.gather(*(trader(headers) for headers in traders))
                elapsed = time.perf_counter() - started
                cpu_used = cpu_seconds(process.pid) - cpu_before
                sample = (await client.get("/api/v1/positions", headers=traders[0])).json()
        except BaseException:
            print(tail(Path(workdir) / "server.log"), file=sys.stderr)
            raise
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=30)

    requests = TRADERS * READS_PER_TRADER
    commit = await asyncio.to_thread(current_commit)
    checks = {
        "all_answered_200": statuses == {200: requests},
        "positions_per_answer": len(sample["positions"]) == POSITIONS_PER_ACCOUNT,
        "not_stale": sample["stale"] is False,
    }
    return {
        "commit": commit,
        "note": "measured on a 2-core machine shared with other agents' builds and tests; "
        "compare runs on the same machine only",
        "database": "postgresql",
        "cache": "redis",
        "server": "one `signalhub serve` process (one uvicorn worker) over HTTP",
        "concurrent_users": TRADERS,
        "requests": requests,
        "positions_per_account": POSITIONS_PER_ACCOUNT,
        "requests_per_s": round(requests / elapsed, 1),
        **percentiles_ms(latencies),
        "server_cpu_ms_per_request": round(cpu_used / requests * 1000, 3),
        "statuses": {str(code): count for code, count in statuses.items()},
        "checks": checks,
        "ok": all(checks.values()),
    }
