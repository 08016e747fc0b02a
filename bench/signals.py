"""Signals on PostgreSQL:

1. fan-out: a signal for 10,000 eligible traders, from publish until every approval and its bot
   message is queued (the worker's batches, in this process: no HTTP involved);
2. `GET /api/v1/approvals/pending` at 100 concurrent traders (wrk, its own process) against one
   real `signalhub serve` on PostgreSQL + Redis, each trader with three pending cards;
3. publish to SSE: 100 signals published over the admin API, each timed until the connected
   trader's stream announces the approval (serve with its worker in-process, Redis bus)."""

from __future__ import annotations

import asyncio
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import func, insert, select

from bench.auth_sign_in import BOT_TOKEN, signed_body
from bench.common import bench_database_url, fresh_database, percentiles_ms
from bench.server import free_port, git_commit, lua_cycle_requests, signalhub_serve, wrk
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import (
    Approval,
    Entitlement,
    OutboxMessage,
    Payment,
    PaymentProvider,
    PaymentStatus,
    Product,
    Role,
    Tier,
    User,
)
from signalhub.signals import service
from signalhub.signals.schemas import SignalCreate
from signalhub.signals.tasks import fan_out_until_idle

REDIS_URL = "redis://127.0.0.1:6379/9"
ELIGIBLE = 10_000
BATCH_SIZE = 500
CONCURRENT = 100
DURATION_S = 15
SSE_SIGNALS = 100
POOL_SIZE = 8
ADMIN_TELEGRAM_ID = 4_000_000
FIRST_TRADER = 4_000_001


def signal(tier: Tier = Tier.premium) -> SignalCreate:
    return SignalCreate.model_validate(
        {
            "symbol": "EURUSD",
            "side": "buy",
            "entry_price": "1.0850",
            "stop_loss": "1.0820",
            "take_profits": ["1.0900"],
            "min_tier": tier,
        }
    )


async def traders(database: Database, count: int, tier: Tier) -> None:
    """`count` traders holding `tier` and one admin, inserted in bulk (the fan-out is measured,
    not the set-up)."""
    now = utcnow()
    async with database.transaction() as session:
        product_id = await session.scalar(
            insert(Product)
            .values(
                code=f"bench_{tier.value}",
                name=tier.value,
                tier=tier.value,
                duration_days=30,
                price_amount_minor=1900,
                price_stars=1500,
                features=[],
                created_at=now,
                updated_at=now,
            )
            .returning(Product.id)
        )
        admin = {"telegram_id": ADMIN_TELEGRAM_ID, "role": Role.admin}
        rows = [admin] + [
            {"telegram_id": FIRST_TRADER + n, "role": Role.user} for n in range(count)
        ]
        user_ids = list(
            await session.scalars(
                insert(User).returning(User.id, sort_by_parameter_order=True),
                [{**row, "created_at": now, "updated_at": now} for row in rows],
            )
        )[1:]
        payment_ids = list(
            await session.scalars(
                insert(Payment).returning(Payment.id, sort_by_parameter_order=True),
                [
                    {
                        "provider": PaymentProvider.stripe,
                        "provider_payment_id": f"pi_bench_signals_{user_id}",
                        "user_id": user_id,
                        "product_id": product_id,
                        "amount_minor": 1900,
                        "currency": "USD",
                        "status": PaymentStatus.succeeded,
                        "details": {},
                        "created_at": now,
                        "updated_at": now,
                    }
                    for user_id in user_ids
                ],
            )
        )
        await session.execute(
            insert(Entitlement),
            [
                {
                    "user_id": user_id,
                    "product_id": product_id,
                    "payment_id": payment_id,
                    "tier": tier.value,
                    "starts_at": now,
                    "expires_at": now.replace(year=now.year + 1),
                    "created_at": now,
                }
                for user_id, payment_id in zip(user_ids, payment_ids, strict=True)
            ],
        )


async def measure_fan_out(database: Database) -> dict[str, Any]:
    async with database.transaction() as session:
        published = await service.publish(session, signal(), None, utcnow())
    started = time.perf_counter()
    covered = await fan_out_until_idle(database, BATCH_SIZE)
    elapsed = time.perf_counter() - started
    async with database.transaction() as session:
        approvals = await session.scalar(
            select(func.count()).select_from(Approval).where(Approval.signal_id == published.id)
        )
        messages = await session.scalar(
            select(func.count())
            .select_from(OutboxMessage)
            .join(Approval, Approval.outbox_message_id == OutboxMessage.id)
            .where(Approval.signal_id == published.id)
        )
    return {
        "eligible_users": ELIGIBLE,
        "batch_size": BATCH_SIZE,
        "seconds_until_all_queued": round(elapsed, 2),
        "users_per_s": round(covered / elapsed),
        "approvals": approvals,
        "messages": messages,
    }


async def sign_in(client: httpx.AsyncClient, telegram_id: int) -> str:
    response = await client.post(
        "/api/v1/auth/telegram",
        content=signed_body(telegram_id),
        headers={"Content-Type": "application/json"},
    )
    response.raise_for_status()
    token: str = response.json()["access_token"]
    return token


async def measure_pending(url: str) -> dict[str, Any]:
    settings = {
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "SIGNIN_RATE_LIMIT_PER_MINUTE": str(10**9),
        "ACCESS_TOKEN_TTL_S": "3600",
        "DATABASE_POOL_SIZE": str(POOL_SIZE),
    }
    with tempfile.TemporaryDirectory() as workdir:
        async with signalhub_serve(settings) as server:
            async with httpx.AsyncClient(base_url=server.base_url, timeout=30) as client:
                tokens = [await sign_in(client, FIRST_TRADER + n) for n in range(CONCURRENT)]
                sample = await client.get(
                    "/api/v1/approvals/pending", headers={"Authorization": f"Bearer {tokens[0]}"}
                )
            authorizations = Path(workdir) / "authorization.txt"
            authorizations.write_text("".join(f"Bearer {token}\n" for token in tokens))
            script = lua_cycle_requests(
                "GET", "/api/v1/approvals/pending", authorizations, header="Authorization"
            )
            run = await wrk(
                server,
                "/api/v1/approvals/pending",
                connections=CONCURRENT,
                duration_s=DURATION_S,
                lua=script,
            )
    return {**run, "cards_per_answer": len(sample.json())}


async def next_created(lines: Any) -> None:
    async for line in lines:
        if line == "event: approval.created":
            return


async def measure_sse(url: str) -> dict[str, Any]:
    """One enterprise trader, signals for enterprise only: the figure is the path publish →
    worker wake-up → one-user fan-out → commit → Redis → stream, not a big fan-out."""
    database = await fresh_database(url)
    await traders(database, 1, Tier.enterprise)
    await database.dispose()
    settings = {
        "DATABASE_URL": url,
        "REDIS_URL": REDIS_URL,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        # Nothing listens there: the worker's sender fails fast instead of reaching Telegram.
        "TELEGRAM_API_BASE": f"http://127.0.0.1:{free_port()}",
        "ADMIN_TELEGRAM_IDS": str(ADMIN_TELEGRAM_ID),
        "RUN_WORKER_IN_PROCESS": "true",
        "SIGNIN_RATE_LIMIT_PER_MINUTE": str(10**9),
        "ACCESS_TOKEN_TTL_S": "3600",
        "DATABASE_POOL_SIZE": str(POOL_SIZE),
    }
    latencies: list[float] = []
    async with (
        signalhub_serve(settings) as server,
        httpx.AsyncClient(base_url=server.base_url, timeout=30) as client,
    ):
        admin = {"Authorization": f"Bearer {await sign_in(client, ADMIN_TELEGRAM_ID)}"}
        trader = {"Authorization": f"Bearer {await sign_in(client, FIRST_TRADER)}"}
        body = signal(Tier.enterprise).model_dump(mode="json")
        async with client.stream("GET", "/api/v1/approvals/stream", headers=trader) as stream:
            lines = stream.aiter_lines()
            async for line in lines:
                if line == "event: ready":
                    break
            for _ in range(SSE_SIGNALS):
                started = time.perf_counter()
                published = await client.post("/api/v1/admin/signals", json=body, headers=admin)
                published.raise_for_status()
                await asyncio.wait_for(next_created(lines), 10)
                latencies.append(time.perf_counter() - started)
    return {"signals": SSE_SIGNALS, **percentiles_ms(latencies)}


async def main() -> dict[str, Any]:
    url = bench_database_url()
    database = await fresh_database(url)
    await traders(database, ELIGIBLE, Tier.premium)
    fan_out = await measure_fan_out(database)
    for _ in range(2):  # three cards per trader for the pending reads
        async with database.transaction() as session:
            await service.publish(session, signal(), None, utcnow())
        await fan_out_until_idle(database, BATCH_SIZE)
    await database.dispose()
    pending = await measure_pending(url)
    sse = await measure_sse(url)
    checks = {
        "every_user_one_approval_and_message": fan_out["approvals"]
        == fan_out["messages"]
        == ELIGIBLE,
        "pending_without_errors": pending["errors"] == 0,
        "three_cards_per_answer": pending["cards_per_answer"] == 3,
    }
    return {
        "commit": git_commit(),
        "note": "measured on a 2-core machine shared with other agents' builds and tests; "
        "compare runs on the same machine only",
        "fan_out": {"where": "worker batches in this process, PostgreSQL", **fan_out},
        "pending": {
            "path": "GET /api/v1/approvals/pending (no If-None-Match: every answer a full 200)",
            "server": "one `signalhub serve` process, PostgreSQL + Redis, load from wrk",
            "concurrent_users": CONCURRENT,
            "database_pool_size": POOL_SIZE,
            **pending,
        },
        "publish_to_sse": {
            "path": "POST /api/v1/admin/signals until `approval.created` on "
            "GET /api/v1/approvals/stream (worker in the serve process, Redis bus)",
            **sse,
        },
        "checks": checks,
        "ok": all(checks.values()),
    }
