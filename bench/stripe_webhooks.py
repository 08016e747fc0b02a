"""Stripe webhooks against ONE real `signalhub serve` process over real HTTP: signed
`charge.succeeded` events, a fifth of the deliveries duplicates (Stripe's retries, two instances
receiving one event), closed loop at 32 connections and open loop at 200 events/s, on PostgreSQL
by default (SIGNALHUB_BENCH_DATABASE_URL to change). Reports the CPU per event of the server and
of PostgreSQL, and the SQL statements a new and a duplicate event cost; checks that every
distinct event made exactly one payment and one grant."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import random
import time
from collections import Counter
from typing import Any

import httpx
from sqlalchemy import event, func, select

from bench.common import bench_database_url, fresh_database, percentiles_ms
from bench.server import JWT_SECRET, CpuMeter, Server, git_commit, signalhub_serve
from signalhub.app import create_app
from signalhub.catalog import service as catalog
from signalhub.catalog.schemas import ProductCreate
from signalhub.config import Environment, Settings
from signalhub.db import Database
from signalhub.models import Entitlement, Payment, StripeEvent, Tier
from signalhub.users import service as users

WEBHOOK_SECRET = "whsec_bench_0123456789abcdef0123456789"
DISTINCT_EVENTS = 1600
DUPLICATE_SHARE = 0.2
CONCURRENCY = 32
USERS = 400
OPEN_LOOP_RATE = 200.0
OPEN_LOOP_S = 10
OPEN_LOOP_CONNECTIONS = 64


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


async def _catalog_and_users(database: Database) -> tuple[str, list[int]]:
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
    return product.code, user_ids


def _deliveries(first: int, distinct: int, user_ids: list[int], product: str) -> list[str]:
    """`distinct` events from index `first`, plus a fifth of duplicates, shuffled."""
    bodies = [
        charge_succeeded(index, user_ids[index % USERS], product)
        for index in range(first, first + distinct)
    ]
    duplicates = round(distinct * DUPLICATE_SHARE / (1 - DUPLICATE_SHARE))
    shuffler = random.Random(first)
    deliveries = bodies + [shuffler.choice(bodies) for _ in range(duplicates)]
    shuffler.shuffle(deliveries)
    return deliveries


class Tally:
    def __init__(self) -> None:
        self.latencies: list[float] = []
        self.statuses: Counter[str] = Counter()
        self.outcomes: Counter[str] = Counter()

    async def post(self, client: httpx.AsyncClient, body: str) -> None:
        started = time.perf_counter()
        try:
            response = await client.post(
                "/api/v1/stripe/webhook",
                content=body,
                headers={"Stripe-Signature": signature(body), "Content-Type": "application/json"},
            )
        except httpx.TransportError as error:
            # Over capacity an open loop times out; that is a figure, not a crash.
            self.statuses[type(error).__name__] += 1
            return
        self.latencies.append(time.perf_counter() - started)
        self.statuses[str(response.status_code)] += 1
        if response.status_code == 200:
            self.outcomes[response.json()["outcome"]] += 1

    def report(self, meter: CpuMeter) -> dict[str, Any]:
        answered = len(self.latencies)
        return {
            "deliveries": answered,
            "events_per_s": round(answered / meter.wall_s, 1),
            **percentiles_ms(self.latencies),
            "statuses": dict(self.statuses),
            "outcomes": dict(self.outcomes),
            **meter.per_request(answered),
        }


async def closed_loop(server: Server, deliveries: list[str]) -> dict[str, Any]:
    """CONCURRENCY connections, each sending its next event as soon as the last is answered."""
    queue: asyncio.Queue[str] = asyncio.Queue()
    for body in deliveries:
        queue.put_nowait(body)
    tally = Tally()
    meter = CpuMeter(server.pid)
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as client:

        async def connection() -> None:
            while not queue.empty():
                await tally.post(client, queue.get_nowait())

        meter.start()
        await asyncio.gather(*(connection() for _ in range(CONCURRENCY)))
        meter.stop()
    return {"mode": "closed loop", "concurrency": CONCURRENCY, **tally.report(meter)}


async def open_loop(server: Server, deliveries: list[str], rate: float) -> dict[str, Any]:
    """Events arrive at a fixed rate whatever the server's speed, as Stripe sends them: latency
    here includes any queueing in front of a server that falls behind."""
    tally = Tally()
    meter = CpuMeter(server.pid)
    # As many connections as Stripe would hold open to one endpoint at this rate, bounded: an
    # unbounded httpx pool opens one per event once the server lags, and its pool bookkeeping
    # (a scan of every connection per request) then costs the load generator more CPU than the
    # server spends. Events beyond them wait for a connection, and that wait is in their latency.
    limits = httpx.Limits(max_connections=OPEN_LOOP_CONNECTIONS)
    async with httpx.AsyncClient(base_url=server.base_url, limits=limits, timeout=30) as client:
        meter.start()
        started = time.perf_counter()
        sends = []
        for index, body in enumerate(deliveries):
            await asyncio.sleep(max(0.0, started + index / rate - time.perf_counter()))
            sends.append(asyncio.create_task(tally.post(client, body)))
        await asyncio.gather(*sends)
        meter.stop()
    return {"mode": f"open loop at {rate:g}/s", **tally.report(meter)}


async def statements_per_event(url: str, user_id: int, product: str) -> dict[str, int]:
    """A counted run in-process (counting, not timing): SQL statements for one new event and
    for its duplicate."""
    database = Database.from_url(url)
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        env=Environment.test,
        database_url=url,
        jwt_secret=JWT_SECRET,
        stripe_webhook_secret=[WEBHOOK_SECRET],
        run_worker_in_process=False,
    )
    statements: list[str] = []
    transactions: list[str] = []

    def count(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        statements.append(statement)

    def count_transaction(_conn: object, *_args: object) -> None:
        transactions.append("begin")

    body = charge_succeeded(9_999_999, user_id, product)
    counts = {}
    app = create_app(settings, database)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://bench"
    ) as client:
        engine = database.engine.sync_engine
        event.listen(engine, "before_cursor_execute", count)
        event.listen(engine, "begin", count_transaction)
        event.listen(engine, "savepoint", count_transaction)
        for label in ("new_event", "duplicate_event"):
            statements.clear()
            transactions.clear()
            await Tally().post(client, body)
            counts[f"statements_per_{label}"] = len(statements)
            counts[f"transactions_and_savepoints_per_{label}"] = len(transactions)
    await database.dispose()
    return counts


async def main() -> dict[str, Any]:
    url = bench_database_url()
    database = await fresh_database(url)
    product, user_ids = await _catalog_and_users(database)
    closed_deliveries = _deliveries(0, DISTINCT_EVENTS, user_ids, product)
    open_distinct = int(OPEN_LOOP_RATE * OPEN_LOOP_S * (1 - DUPLICATE_SHARE))
    open_deliveries = _deliveries(DISTINCT_EVENTS, open_distinct, user_ids, product)
    settings = {"DATABASE_URL": url, "STRIPE_WEBHOOK_SECRET": WEBHOOK_SECRET}
    async with signalhub_serve(settings) as server:
        closed = await closed_loop(server, closed_deliveries)
        opened = await open_loop(server, open_deliveries, OPEN_LOOP_RATE)
    statements = await statements_per_event(url, user_ids[0], product)

    distinct = len(set(closed_deliveries)) + len(set(open_deliveries)) + 1
    async with database.transaction() as session:
        stored_events, payments, grants = [
            await session.scalar(select(func.count()).select_from(model))
            for model in (StripeEvent, Payment, Entitlement)
        ]
    await database.dispose()
    answered_all = set(closed["statuses"]) | set(opened["statuses"]) == {"200"}
    checks = {
        "all_answered_200": answered_all,
        # A delivery that timed out may or may not have been recorded; one that was is whole.
        "events_stored_equal_distinct_events": stored_events == distinct or not answered_all,
        "payments_equal_events_stored": payments == stored_events,
        "grants_equal_events_stored": grants == stored_events,
    }
    return {
        "commit": git_commit(),
        "database": database.dialect,
        "server": "one `signalhub serve` process over HTTP; load from this process (asyncio)",
        "runs": [closed, opened],
        **statements,
        "distinct_events": distinct,
        "stripe_events": stored_events,
        "payments": payments,
        "grants": grants,
        "checks": checks,
        "ok": all(checks.values()),
    }
