"""EA devices long-polling one real `signalhub serve` process on PostgreSQL: the time from a
trader's approval to each of their devices receiving the signal, and what idle polling costs.

The devices run in a load-generator process of their own (bench/_device_fleet.py): each
long-polls `GET /api/v1/ea/poll?wait=25` with signed requests and acknowledges what it gets.
Traders approve over HTTP; the server's live-update bus wakes their devices."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from bench.auth_sign_in import BOT_TOKEN, signed_body
from bench.common import bench_database_url, fresh_database, percentiles_ms
from bench.server import CpuMeter, git_commit, signalhub_serve
from signalhub.billing.repository import PaymentRepository
from signalhub.catalog import service as catalog
from signalhub.catalog.schemas import ProductCreate
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.devices import service as devices
from signalhub.entitlements import service as entitlements
from signalhub.kit.time import utcnow
from signalhub.models import Approval, Payment, PaymentProvider, PaymentStatus, Tier
from signalhub.signals import service as signals
from signalhub.signals.schemas import SignalCreate
from signalhub.signals.tasks import fan_out_until_idle
from signalhub.users import service as users

DEVICES_PER_TRADER = 20  # Enterprise's limit
# The figure: 1,000 devices (SIGNALHUB_BENCH_TRADERS=10 runs 200, to compare with the
# first runs at that size).
TRADERS = int(os.environ.get("SIGNALHUB_BENCH_TRADERS", "50"))
SIGNALS = 3
# Traders approve one after another, this far apart, as they would; each approval wakes all 20
# devices of its trader at once.
APPROVAL_SPACING_S = 0.2
IDLE_S = 30
# The server's SIGNALHUB_EA_LEASE_S (its default). A hand-over whose answer the device never got
# is offered again at the device's first poll after the lease, up to a poll's wait later; the
# fleet runs that long after the last approval, so those deliveries are counted, late.
LEASE_S = 60
POLL_WAIT_S = 25
DEVICE_SECRET_KEY = "YmVuY2gtZGV2aWNlLXNlY3JldC1rZXktMzItYnl0ZXM="
FIRST_TELEGRAM_ID = 3_000_000


async def create_fleet(database: Database, settings: Settings) -> list[dict[str, Any]]:
    """Enterprise traders with 20 devices each, written through the real services."""
    fleet = []
    async with database.transaction() as session:
        product = await catalog.create(
            session,
            ProductCreate(
                code="enterprise_bench",
                name="Enterprise",
                tier=Tier.enterprise,
                duration_days=30,
                price_amount_minor=9900,
                price_stars=8000,
            ),
            actor_user_id=None,
        )
        for trader in range(TRADERS):
            user = await users.upsert_from_telegram(
                session, users.TelegramProfile(FIRST_TELEGRAM_ID + trader), []
            )
            payment = await PaymentRepository(session).add_if_new(
                Payment(
                    provider=PaymentProvider.stripe,
                    provider_payment_id=f"pi_bench_{trader}",
                    user_id=user.id,
                    product_id=product.id,
                    amount_minor=product.price_amount_minor,
                    currency=product.price_currency,
                    status=PaymentStatus.succeeded,
                    created_at=utcnow(),
                    updated_at=utcnow(),
                )
            )
            assert payment is not None
            await entitlements.grant(session, product, payment, utcnow())
            for number in range(DEVICES_PER_TRADER):
                registration = await devices.register(
                    session, settings, user.id, f"MT5 {number}", utcnow()
                )
                fleet.append({"id": registration.device.id, "secret": registration.secret})
    return fleet


async def approve_next_signal(
    database: Database, client: httpx.AsyncClient, bearers: dict[int, str]
) -> dict[int, float]:
    """Publishes a signal, fans it out, and has each trader in turn approve it over HTTP;
    answers when each approval request was sent, by approval id."""
    async with database.transaction() as session:
        published = await signals.publish(
            session,
            SignalCreate(
                symbol="EURUSD",
                side="buy",
                entry_price="1.0850",
                stop_loss="1.0820",
                take_profits=["1.0900"],
                min_tier=Tier.enterprise,
            ),
            None,
            utcnow(),
        )
    await fan_out_until_idle(database, 500)
    async with database.transaction() as session:
        approvals = (
            await session.scalars(select(Approval).where(Approval.signal_id == published.id))
        ).all()
    sent_at: dict[int, float] = {}

    for approval in approvals:
        sent_at[approval.id] = time.time()
        response = await client.post(
            f"/api/v1/approvals/{approval.id}/approve",
            headers={"Authorization": f"Bearer {bearers[approval.user_id]}"},
        )
        if response.status_code != 200:
            del sent_at[approval.id]
        await asyncio.sleep(APPROVAL_SPACING_S)
    return sent_at


async def main() -> dict[str, Any]:
    load_at_start = os.getloadavg()
    url = bench_database_url()
    database = await fresh_database(url)
    settings = Settings(_env_file=None, database_url=url, device_secret_key=DEVICE_SECRET_KEY)
    fleet = await create_fleet(database, settings)
    server_settings = {
        "DATABASE_URL": url,
        "TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "DEVICE_SECRET_KEY": DEVICE_SECRET_KEY,
        "SIGNIN_RATE_LIMIT_PER_MINUTE": str(10**9),
        "ACCESS_TOKEN_TTL_S": "3600",
        "EA_LEASE_S": str(LEASE_S),
    }
    with tempfile.TemporaryDirectory() as workdir:
        config, result = Path(workdir) / "fleet.json", Path(workdir) / "result.json"
        async with signalhub_serve(server_settings) as server:
            config.write_text(json.dumps({"url": server.base_url, "devices": fleet}))
            async with httpx.AsyncClient(base_url=server.base_url, timeout=60) as client:
                bearers = {}
                for trader in range(TRADERS):
                    response = await client.post(
                        "/api/v1/auth/telegram",
                        content=signed_body(FIRST_TELEGRAM_ID + trader),
                        headers={"Content-Type": "application/json"},
                    )
                    response.raise_for_status()
                    bearers[response.json()["user"]["id"]] = response.json()["access_token"]

                load = await asyncio.create_subprocess_exec(
                    sys.executable,
                    "-m",
                    "bench._device_fleet",
                    str(config),
                    str(result),
                    stdin=asyncio.subprocess.PIPE,
                    stdout=asyncio.subprocess.PIPE,
                )
                assert load.stdout is not None
                assert load.stdin is not None
                await asyncio.wait_for(load.stdout.readline(), 300)
                # Let the ramp's first polls settle into their 25 s rhythm.
                await asyncio.sleep(5)

                idle = CpuMeter(server.pid, load.pid)
                idle.start()
                idle_started = time.time()
                await asyncio.sleep(IDLE_S)
                idle.stop()
                idle_ended = time.time()

                busy = CpuMeter(server.pid, load.pid)
                busy.start()
                busy_started = time.time()
                sent_at: dict[int, float] = {}
                for _ in range(SIGNALS):
                    sent_at |= await approve_next_signal(database, client, bearers)
                    await asyncio.sleep(2)
                await asyncio.sleep(10)
                busy.stop()
                busy_ended = time.time()
                await asyncio.sleep(LEASE_S + POLL_WAIT_S)
                load.stdin.close()
                await asyncio.wait_for(load.wait(), 120)
        record = json.loads(result.read_text())
    await database.dispose()
    load_at_end = os.getloadavg()

    # Receipts are once per approval and device (a re-offer is counted apart).
    received = [
        (arrived - sent_at[approval], arrived)
        for approval, _, arrived in record["receipts"]
        if approval in sent_at
    ]
    latencies = [latency for latency, _ in received]
    # Requests the server answered (not merely sent) in each window: a backlog shows as fewer.
    idle_polls = sum(1 for answered in record["answered"] if idle_started <= answered < idle_ended)
    busy_requests = sum(
        1 for answered in record["answered"] if busy_started <= answered < busy_ended
    )
    return {
        "commit": git_commit(),
        "server": "one `signalhub serve` process on PostgreSQL (nonces in PostgreSQL, "
        "in-memory bus); devices in a load-generator process of their own",
        "note": f"a {os.cpu_count()}-core machine that the server, PostgreSQL and the load "
        "generator share; the load averages (1, 5, 15 min) at start and end say how busy it was "
        "otherwise",
        "load_average_at_start": [round(value, 2) for value in load_at_start],
        "load_average_at_end": [round(value, 2) for value in load_at_end],
        "devices": len(fleet),
        "traders": TRADERS,
        "devices_per_trader": DEVICES_PER_TRADER,
        "poll_wait_s": POLL_WAIT_S,
        "ea_lease_s": LEASE_S,
        "idle": {
            "window_s": IDLE_S,
            "requests_per_s": round(idle_polls / IDLE_S, 1),
            **idle.per_request(idle_polls),
        },
        "approval_to_device": {
            "signals": SIGNALS,
            "approval_spacing_s": APPROVAL_SPACING_S,
            "approvals": len(sent_at),
            "deliveries_expected": len(sent_at) * DEVICES_PER_TRADER,
            "deliveries_received": len(latencies),
            "deliveries_received_in_window": sum(1 for _, at in received if at < busy_ended),
            # Approvals a device was offered again (its ack had not arrived within the lease)
            # and acknowledged again without executing twice.
            "re_offers": len(record["re_offers"]),
            **percentiles_ms(latencies),
            "window_s": round(busy_ended - busy_started, 1),
            # Polls and acks answered while traders approved (the approvals and the signals'
            # fan-out are a few dozen more).
            "device_requests_per_s": round(busy_requests / (busy_ended - busy_started), 1),
            **busy.per_request(busy_requests),
        },
        "errors": len(record["errors"]),
        "first_errors": record["errors"][:5],
    }
