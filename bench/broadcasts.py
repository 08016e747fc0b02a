"""A marketing broadcast to SIGNALHUB_BENCH_BROADCAST_RECIPIENTS (default 100,000) users, sent by
one real `signalhub worker` process (scheduler + outbox sender) through the fake Bot API at a
raised limit (RATE_PER_S instead of Telegram's 30/s, so the run takes minutes, not an hour).
A signal is queued once 10 % of the broadcast is out. Reports the share of the limit used, the
worker's RSS over the run (peak and at each tenth), sends over the limits, duplicates, the
signal's delay, and whether the analytics equal what the fake Bot API received."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import insert
from tests.fakes.telegram_api import FakeTelegramAPI

from bench.common import bench_database_url, fresh_database
from signalhub.config import Environment, Settings
from signalhub.kit.time import utcnow
from signalhub.marketing import service as marketing
from signalhub.marketing.schemas import BroadcastCreate, TemplateCreate
from signalhub.models import BroadcastStatus, Priority, Role, User
from signalhub.outbox import service as outbox

RATE_PER_S = 100.0
CHAT_INTERVAL_S = 1.0
LATENCY_S = 0.01
SIGNAL_TEXT = "SIGNAL: XAUUSD sell @ 2410.5"
SIGNAL_AFTER = 0.1
BOT_TOKEN = "123456:BenchBotTokenBenchBotTokenBench"
TEXT = "Hi <b>{first_name}</b>, VIP is 20 % off this week."


def recipient_count() -> int:
    return int(os.environ.get("SIGNALHUB_BENCH_BROADCAST_RECIPIENTS", "100000"))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


async def git_commit() -> str:
    git = await asyncio.create_subprocess_exec(
        "git", "rev-parse", "--short", "HEAD", stdout=asyncio.subprocess.PIPE
    )
    output, _ = await git.communicate()
    return output.decode().strip()


async def main() -> dict[str, Any]:
    total = recipient_count()
    url = bench_database_url()
    database = await fresh_database(url)
    fake = FakeTelegramAPI()
    await fake.start()
    fake.latency_s = LATENCY_S
    settings = Settings(  # type: ignore[call-arg]
        _env_file=None,
        env=Environment.test,
        database_url=url,
        jwt_secret="bench-jwt-secret-bench-jwt-secret-bench",
        telegram_bot_token=BOT_TOKEN,
        telegram_api_base=fake.base_url,
    )
    async with database.engine.begin() as connection:
        for start in range(0, total, 10_000):
            await connection.execute(
                insert(User),
                [
                    {
                        "telegram_id": 5_000_000 + index,
                        "first_name": f"Trader {index}",
                        "language_code": "en",
                        "role": Role.user,
                        "bot_blocked": False,
                        "marketing_opt_out": False,
                        "created_at": utcnow(),
                        "updated_at": utcnow(),
                    }
                    for index in range(start, min(total, start + 10_000))
                ],
            )
    environment = {
        **os.environ,
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_DATABASE_URL": url,
        "SIGNALHUB_JWT_SECRET": "bench-jwt-secret-bench-jwt-secret-bench",
        "SIGNALHUB_TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "SIGNALHUB_TELEGRAM_API_BASE": fake.base_url,
        "SIGNALHUB_TELEGRAM_RATE_PER_SECOND": str(RATE_PER_S),
        "SIGNALHUB_TELEGRAM_CHAT_INTERVAL_S": str(CHAT_INTERVAL_S),
        "SIGNALHUB_LOG_LEVEL": "WARNING",
        # The PostgreSQL server is shared: a modest pool, as an operator would size it.
        "SIGNALHUB_DATABASE_POOL_SIZE": "12",
    }
    worker = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "signalhub.cli",
        "worker",
        env=environment,
        stdout=asyncio.subprocess.DEVNULL,
    )
    rss: list[tuple[int, float]] = []
    try:
        async with database.transaction() as session:
            template = await marketing.create_template(
                session,
                settings,
                TemplateCreate(
                    title="Bench",
                    text=TEXT,
                    buttons=[{"kind": "url", "text": "Offer", "url": "https://example.com/vip"}],
                ),
                None,
            )
            broadcast = await marketing.create_broadcast(
                session, BroadcastCreate(template_id=template.id, segment="all"), None, utcnow()
            )
        signal_queued_at = None
        while True:
            await asyncio.sleep(1.0)
            delivered = len(fake.calls)
            rss.append((delivered, rss_mb(worker.pid)))
            if signal_queued_at is None and delivered >= total * SIGNAL_AFTER:
                async with database.transaction() as session:
                    await outbox.enqueue(
                        session, 42, SIGNAL_TEXT, priority=Priority.signal, kind="signal"
                    )
                signal_queued_at = time.monotonic()
            async with database.transaction() as session:
                state = await marketing.get(session, broadcast.id)
            if (
                state.status is not BroadcastStatus.sending
                and state.status is not BroadcastStatus.scheduled
            ):
                break
            if worker.returncode is not None:
                raise RuntimeError("the worker exited")
        async with database.transaction() as session:
            analytics = await marketing.analytics(session, broadcast.id)
    finally:
        worker.terminate()
        await worker.wait()
        await fake.stop()
        await database.dispose()

    broadcast_sends = [call for call in fake.sends() if call.params.get("text") != SIGNAL_TEXT]
    moments = sorted(call.at for call in broadcast_sends)
    elapsed = moments[-1] - moments[0]
    achieved = (len(moments) - 1) / elapsed
    signal_call = next(call for call in fake.sends() if call.params.get("text") == SIGNAL_TEXT)
    per_chat = Counter(call.chat_id for call in broadcast_sends)
    violations = fake.violations(RATE_PER_S, CHAT_INTERVAL_S)
    tenths = {
        f"{10 * tenth}%": round(
            next((mb for sent, mb in rss if sent >= total * tenth / 10), rss[-1][1]), 1
        )
        for tenth in range(1, 10)
    }
    accepted = sum(1 for call in broadcast_sends if call.status == 200)
    return {
        "commit": await git_commit(),
        "note": "measured on a 2-core machine shared with other agents; the fake Bot API "
        "ran in the benchmark process",
        "database": "postgresql" if url.startswith("postgresql") else "sqlite",
        "recipients": total,
        "limit_per_s": RATE_PER_S,
        "chat_interval_s": CHAT_INTERVAL_S,
        "fake_latency_ms": LATENCY_S * 1000,
        "sending_s": round(elapsed, 1),
        "achieved_per_s": round(achieved, 1),
        "share_of_limit": round(achieved / RATE_PER_S, 3),
        "over_rate_limit": violations.over_rate,
        "over_chat_limit": violations.over_chat,
        "duplicates": sum(count - 1 for count in per_chat.values()),
        "worker_rss_mb_peak": round(max(mb for _, mb in rss), 1),
        "worker_rss_mb_at_share_sent": tenths,
        "signal_delay_ms": round((signal_call.at - (signal_queued_at or 0)) * 1000, 1),
        "analytics": {
            "targeted": analytics.targeted,
            "delivered": analytics.delivered,
            "failed": analytics.failed,
        },
        "bot_api_accepted": accepted,
        "analytics_equal_bot_api": analytics.delivered == accepted,
    }
