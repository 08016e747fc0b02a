"""Stripe webhook throughput against ONE real `signalhub serve` process over real HTTP:
signed `charge.succeeded` events at concurrency 32, a fifth of the deliveries duplicates
(Stripe's retries, two instances receiving one event), on PostgreSQL by default
(SIGNALHUB_BENCH_DATABASE_URL to change). Checks that every distinct event made exactly one
payment and one grant."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import os
import random
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import IO, Any

import httpx
from sqlalchemy import func, select

from bench.common import bench_database_url, fresh_database, percentiles_ms
from signalhub.catalog import service as catalog
from signalhub.catalog.schemas import ProductCreate
from signalhub.models import Entitlement, Payment, StripeEvent, Tier
from signalhub.users import service as users

WEBHOOK_SECRET = "whsec_bench_0123456789abcdef0123456789"
DISTINCT_EVENTS = 1600
DUPLICATE_SHARE = 0.2
CONCURRENCY = 32
USERS = 400


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def charge_succeeded(index: int, user_id: int, product_code: str) -> str:
    charge_id = f"ch_bench_{index:06d}"
    event = {
        "id": f"evt_bench_{index:06d}",
        "object": "event",
        "api_version": "2024-06-20",
        "created": int(time.time()),
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": f"req_bench_{index:06d}", "idempotency_key": None},
        "type": "charge.succeeded",
        "data": {
            "object": {
                "id": charge_id,
                "object": "charge",
                "amount": 1900,
                "amount_refunded": 0,
                "currency": "usd",
                "customer": None,
                "metadata": {"user_id": str(user_id), "product": product_code},
                "paid": True,
                "payment_intent": f"pi_bench_{index:06d}",
                "payment_method_details": {"type": "card"},
                "status": "succeeded",
            }
        },
    }
    return json.dumps(event, separators=(",", ":"))


def signature(body: str) -> str:
    timestamp = int(time.time())
    digest = hmac.new(
        WEBHOOK_SECRET.encode(), f"{timestamp}.{body}".encode(), hashlib.sha256
    ).hexdigest()
    return f"t={timestamp},v1={digest}"


def log_file(workdir: Path) -> IO[str]:
    """The server's own log, shown if the run fails."""
    return (workdir / "server.log").open("w")


def tail(path: Path) -> str:
    return path.read_text()[-3000:]


async def wait_until_up(base_url: str, process: asyncio.subprocess.Process) -> None:
    deadline = time.monotonic() + 60
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if process.returncode is not None:
                raise RuntimeError("signalhub serve exited during start-up")
            try:
                if (await client.get(f"{base_url}/healthz", timeout=1)).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise RuntimeError("signalhub serve did not start within 60 s")


async def main() -> dict[str, Any]:
    url = bench_database_url()
    database = await fresh_database(url)
    async with database.transaction() as session:
        product = await catalog.create(
            session,
            ProductCreate(
                code="premium_month",
                name="Premium",
                tier=Tier.premium,
                duration_days=30,
                price_amount_minor=1900,
                price_stars=1500,
            ),
            actor_user_id=None,
        )
        user_ids = [
            (
                await users.upsert_from_telegram(
                    session, users.TelegramProfile(2_000_000 + index), admin_telegram_ids=[]
                )
            ).id
            for index in range(USERS)
        ]

    bodies = [
        charge_succeeded(index, user_ids[index % USERS], product.code)
        for index in range(DISTINCT_EVENTS)
    ]
    duplicates = round(DISTINCT_EVENTS * DUPLICATE_SHARE / (1 - DUPLICATE_SHARE))
    shuffler = random.Random(3)
    deliveries = bodies + [shuffler.choice(bodies) for _ in range(duplicates)]
    shuffler.shuffle(deliveries)

    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_DATABASE_URL": url,
        "SIGNALHUB_JWT_SECRET": "bench-secret-bench-secret-bench-secret",
        "SIGNALHUB_STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET,
        "SIGNALHUB_RUN_WORKER_IN_PROCESS": "false",
        "SIGNALHUB_LOG_LEVEL": "WARNING",
        "SIGNALHUB_HOST": "127.0.0.1",
        "SIGNALHUB_PORT": str(port),
    }
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    outcomes: dict[str, int] = {}
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
            queue: asyncio.Queue[str] = asyncio.Queue()
            for body in deliveries:
                queue.put_nowait(body)
            limits = httpx.Limits(max_connections=CONCURRENCY)
            async with httpx.AsyncClient(base_url=base_url, limits=limits, timeout=60) as client:

                async def worker() -> None:
                    while not queue.empty():
                        body = queue.get_nowait()
                        started = time.perf_counter()
                        response = await client.post(
                            "/api/v1/stripe/webhook",
                            content=body,
                            headers={
                                "Stripe-Signature": signature(body),
                                "Content-Type": "application/json",
                            },
                        )
                        latencies.append(time.perf_counter() - started)
                        statuses[response.status_code] = statuses.get(response.status_code, 0) + 1
                        if response.status_code == 200:
                            outcome = response.json()["outcome"]
                            outcomes[outcome] = outcomes.get(outcome, 0) + 1

                started = time.perf_counter()
                await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
                elapsed = time.perf_counter() - started
        except BaseException:
            print(tail(Path(workdir) / "server.log"), file=sys.stderr)
            raise
        finally:
            process.terminate()
            await asyncio.wait_for(process.wait(), timeout=30)

    async with database.transaction() as session:
        stored_events, payments, grants = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (StripeEvent, Payment, Entitlement)
        ]
    await database.dispose()
    checks = {
        "all_answered_200": statuses == {200: len(deliveries)},
        "events_stored_equal_distinct_events": stored_events == DISTINCT_EVENTS,
        "payments_equal_distinct_events": payments == DISTINCT_EVENTS,
        "grants_equal_distinct_events": grants == DISTINCT_EVENTS,
        "duplicates_answered_as_duplicates": outcomes.get("duplicate") == duplicates,
    }
    return {
        "database": database.dialect,
        "server": "one `signalhub serve` process over HTTP",
        "deliveries": len(deliveries),
        "distinct_events": DISTINCT_EVENTS,
        "duplicates": duplicates,
        "concurrency": CONCURRENCY,
        "events_per_s": round(len(deliveries) / elapsed, 1),
        **percentiles_ms(latencies),
        "statuses": {str(code): count for code, count in statuses.items()},
        "outcomes": outcomes,
        "stripe_events": stored_events,
        "payments": payments,
        "grants": grants,
        "checks": checks,
        "ok": all(checks.values()),
    }
