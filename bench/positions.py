"""`GET /api/v1/positions` against one real `signalhub serve` process on PostgreSQL and Redis:
100 traders, each with a device that has just pushed a snapshot of their linked account (which
warms the cache), read their primary account's positions over 100 concurrent connections (wrk,
its own process, round robin over the traders' tokens)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import httpx
from redis.asyncio import Redis

from bench.auth_sign_in import BOT_TOKEN, signed_body
from bench.common import bench_database_url, fresh_database
from bench.server import git_commit, lua_cycle_requests, signalhub_serve, wrk
from signalhub.billing import service as billing
from signalhub.catalog import service as catalog
from signalhub.catalog.schemas import ProductCreate
from signalhub.devices.signing import signed_headers
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.models import PaymentProvider, PaymentStatus, Tier
from signalhub.users import service as users

REDIS_URL = os.environ.get("SIGNALHUB_BENCH_REDIS_URL", "redis://127.0.0.1:6379/14")
TRADERS = 100
DURATION_S = 20
POOL_SIZE = 8
POSITIONS_PER_ACCOUNT = 8
FIRST_TELEGRAM_ID = 3_000_000


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


async def prepare_trader(client: httpx.AsyncClient, index: int) -> str:
    """Signs in, registers a device, links an account and has the device push its snapshot.
    Answers the trader's access token."""
    signed_in = await client.post(
        "/api/v1/auth/telegram",
        content=signed_body(FIRST_TELEGRAM_ID + index),
        headers={"Content-Type": "application/json"},
    )
    signed_in.raise_for_status()
    token: str = signed_in.json()["access_token"]
    headers = {"Authorization": f"Bearer {token}"}
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
    if pushed.json()["status"] != "verified":
        raise RuntimeError(f"the snapshot did not verify the link: {pushed.text}")
    return token


async def main() -> dict[str, Any]:
    url = bench_database_url()
    database = await fresh_database(url)
    await grant_enterprise(database)
    await database.dispose()
    redis = Redis.from_url(REDIS_URL)
    await redis.flushdb()  # a rebuilt database reuses account ids: no cached figures of old ones
    await redis.aclose()
    settings = {
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "SIGNIN_RATE_LIMIT_PER_MINUTE": str(10**9),
        "ACCESS_TOKEN_TTL_S": "3600",
        # Warm for the whole run: this measures cached reads, the path every poller takes.
        "POSITIONS_CACHE_TTL_S": "600",
        # The shared PostgreSQL server (100 connections) is mostly taken by other test runs.
        "DATABASE_POOL_SIZE": str(POOL_SIZE),
    }
    with tempfile.TemporaryDirectory() as workdir:
        async with signalhub_serve(settings) as server:
            limits = httpx.Limits(max_connections=TRADERS)
            async with httpx.AsyncClient(base_url=server.base_url, limits=limits) as client:
                tokens = [await prepare_trader(client, index) for index in range(TRADERS)]
                sample = await client.get(
                    "/api/v1/positions", headers={"Authorization": f"Bearer {tokens[0]}"}
                )
            authorizations = Path(workdir) / "authorization.txt"
            authorizations.write_text("".join(f"Bearer {token}\n" for token in tokens))
            script = lua_cycle_requests(
                "GET", "/api/v1/positions", authorizations, header="Authorization"
            )
            run = await wrk(
                server,
                "/api/v1/positions",
                connections=TRADERS,
                duration_s=DURATION_S,
                lua=script,
            )
    answer = sample.json()
    checks = {
        "no_errors": run["errors"] == 0,
        "positions_per_answer": len(answer["positions"]) == POSITIONS_PER_ACCOUNT,
        "fresh": answer["stale"] is False,
    }
    return {
        "commit": git_commit(),
        "note": "measured on a 2-core machine shared with other agents' builds and tests; "
        "compare runs on the same machine only",
        "path": "GET /api/v1/positions",
        "server": "one `signalhub serve` process, PostgreSQL + Redis, load from wrk (own process)",
        "concurrent_users": TRADERS,
        "database_pool_size": POOL_SIZE,
        "positions_per_account": POSITIONS_PER_ACCOUNT,
        "cache": "warm (every account's snapshot pushed just before; TTL longer than the run)",
        "runs": [run],
        "checks": checks,
        "ok": all(checks.values()),
    }
