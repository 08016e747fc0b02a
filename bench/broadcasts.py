"""A marketing broadcast to SIGNALHUB_BENCH_BROADCAST_RECIPIENTS (default 100,000) users, sent by
one real `signalhub worker` process (scheduler + outbox sender) through the fake Bot API, which
runs in a third process (bench/_fake_bot_api.py) so neither the fake nor this measuring loop
takes the worker's event loop or CPU slice.

The limit is raised, not Telegram's 30/s: 100,000 messages at 30/s take 56 minutes. Raising the
rate is the issue's "clock scaled" run with the scale folded into the limit: DEFAULT_RATE_PER_S
for both the fake's check and the sender's limiter (SIGNALHUB_BENCH_BROADCAST_RATE to change
it). 100/s, not 1,000/s: the worker spends about 2-3 ms of CPU per message (mostly aiogram and
the kernel's socket writes) and gets a fraction of a core on the shared 2-core machine, so at
1,000/s the share of the limit would measure the machine, not the sender. The per-chat interval
stays Telegram's 1 s: every recipient gets one message, the signal's chat one.

A signal is queued once 10 % of the broadcast is out. Reports the share of the limit used, sends
over the limits, duplicates, the worker's RSS at each tenth of the run and its CPU per message,
the signal's delay (queued here, received by the fake: both on the machine's monotonic clock),
whether the analytics equal what the fake Bot API accepted, and the machine's load average."""

from __future__ import annotations

import asyncio
import os
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

from sqlalchemy import insert

from bench._fake_bot_api import FakeBotApiProcess
from bench.common import bench_database_url, fresh_database
from signalhub.config import Environment, Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.marketing import service as marketing
from signalhub.marketing.schemas import BroadcastCreate, TemplateCreate
from signalhub.models import BroadcastStatus, Priority, Role, User
from signalhub.outbox import service as outbox

DEFAULT_RATE_PER_S = 100.0
CHAT_INTERVAL_S = 1.0
LATENCY_S = 0.01
SIGNAL_TEXT = "SIGNAL: XAUUSD sell @ 2410.5"
SIGNAL_CHAT = 42
SIGNAL_AFTER = 0.1
BOT_TOKEN = "123456:BenchBotTokenBenchBotTokenBench"
JWT_SECRET = "bench-jwt-secret-bench-jwt-secret-bench"
TEXT = "Hi <b>{first_name}</b>, VIP is 20 % off this week."
POLL_S = 0.25
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def recipient_count() -> int:
    return int(os.environ.get("SIGNALHUB_BENCH_BROADCAST_RECIPIENTS", "100000"))


def rate_per_s() -> float:
    return float(os.environ.get("SIGNALHUB_BENCH_BROADCAST_RATE", DEFAULT_RATE_PER_S))


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_s(pid: int) -> float:
    """User + system CPU of one process, from /proc (fields 14 and 15 of stat)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    fields = text[text.rindex(")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def load_average() -> list[float]:
    return [round(value, 2) for value in os.getloadavg()]


async def git_commit() -> str:
    git = await asyncio.create_subprocess_exec(
        "git", "rev-parse", "--short", "HEAD", stdout=asyncio.subprocess.PIPE
    )
    output, _ = await git.communicate()
    return output.decode().strip()


async def seed_users(database: Database, total: int) -> None:
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


def worker_environment(url: str, api_base: str, rate: float) -> dict[str, str]:
    return {
        **os.environ,
        "SIGNALHUB_ENV": "test",
        "SIGNALHUB_DATABASE_URL": url,
        "SIGNALHUB_JWT_SECRET": JWT_SECRET,
        "SIGNALHUB_TELEGRAM_BOT_TOKEN": BOT_TOKEN,
        "SIGNALHUB_TELEGRAM_API_BASE": api_base,
        "SIGNALHUB_TELEGRAM_RATE_PER_SECOND": str(rate),
        "SIGNALHUB_TELEGRAM_CHAT_INTERVAL_S": str(CHAT_INTERVAL_S),
        "SIGNALHUB_LOG_LEVEL": "WARNING",
        # The PostgreSQL server is shared: a modest pool, as an operator would size it.
        "SIGNALHUB_DATABASE_POOL_SIZE": "12",
    }


async def main() -> dict[str, Any]:
    total = recipient_count()
    rate = rate_per_s()
    load_at_start = load_average()
    url = bench_database_url()
    database = await fresh_database(url)
    await seed_users(database, total)
    async with FakeBotApiProcess(LATENCY_S) as fake:
        settings = Settings(  # type: ignore[call-arg]
            _env_file=None,
            env=Environment.test,
            database_url=url,
            jwt_secret=JWT_SECRET,
            telegram_bot_token=BOT_TOKEN,
            telegram_api_base=fake.base_url,
        )
        worker = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "signalhub.cli",
            "worker",
            env=worker_environment(url, fake.base_url, rate),
            stdout=asyncio.subprocess.DEVNULL,
        )
        try:
            run = await _run_broadcast(database, settings, fake, worker, total)
        finally:
            if worker.returncode is None:
                worker.terminate()
                await worker.wait()
            await database.dispose()
        sends = await fake.sends()
        violations = await fake.violations(rate, CHAT_INTERVAL_S)

    broadcast_sends = [send for send in sends if send.text != SIGNAL_TEXT]
    moments = sorted(send.at for send in broadcast_sends)
    elapsed = moments[-1] - moments[0]
    achieved = (len(moments) - 1) / elapsed
    signal_send = next(send for send in sends if send.text == SIGNAL_TEXT)
    per_chat = Counter(send.chat_id for send in broadcast_sends)
    accepted = sum(1 for send in broadcast_sends if send.status == 200)
    rss_at_tenths = run["rss_at_tenths"]
    analytics = run["analytics"]
    return {
        "commit": await git_commit(),
        "note": (
            f"limit raised to {rate:g}/s for both the fake Bot API's check and the sender's "
            "limiter: the issue's scaled clock (Telegram's 30/s would take 56 min for 100,000), "
            "at a rate the worker's CPU share on this machine can carry, so the share measures "
            "the sender; per-chat interval 1 s. Worker, fake Bot API and this measuring loop "
            "each in its own process, on a 2-core machine shared with other agents and one "
            f"PostgreSQL server: load average (1, 5, 15 min) {load_at_start} at start, "
            f"{load_average()} at end. Worker CPU is counted from the first send (its start-up, "
            "mostly importing aiogram, is not per message)."
        ),
        "database": "postgresql" if url.startswith("postgresql") else "sqlite",
        "recipients": total,
        "limit_per_s": rate,
        "chat_interval_s": CHAT_INTERVAL_S,
        "fake_latency_ms": LATENCY_S * 1000,
        "sending_s": round(elapsed, 1),
        "achieved_per_s": round(achieved, 1),
        "share_of_limit": round(achieved / rate, 3),
        "over_rate_limit": violations["over_rate"],
        "over_chat_limit": violations["over_chat"],
        "breaches": violations["details"],
        "duplicates": sum(count - 1 for count in per_chat.values()),
        "worker_cpu_ms_per_message": round(run["worker_cpu_ms_per_message"], 3),
        "worker_cpu_share_of_a_core": round(run["worker_cpu_s"] / elapsed, 3),
        "fake_bot_api_cpu_ms_per_message": round(run["fake_cpu_ms_per_message"], 3),
        "worker_rss_mb_peak": round(max(run["rss_samples"]), 1),
        "worker_rss_mb_at_share_sent": rss_at_tenths,
        "worker_rss_mb_growth_10_to_100": round(rss_at_tenths["100%"] - rss_at_tenths["10%"], 1),
        "signal_delay_ms": round((signal_send.at - run["signal_queued_at"]) * 1000, 1),
        "analytics": {
            "targeted": analytics.targeted,
            "delivered": analytics.delivered,
            "failed": analytics.failed,
        },
        "bot_api_accepted": accepted,
        "analytics_equal_bot_api": analytics.delivered == accepted and analytics.targeted == total,
        "load_average_start": load_at_start,
        "load_average_end": load_average(),
    }


async def _run_broadcast(
    database: Database,
    settings: Settings,
    fake: FakeBotApiProcess,
    worker: asyncio.subprocess.Process,
    total: int,
) -> dict[str, Any]:
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
    # CPU is counted from the first send: the worker's start-up (importing aiogram alone takes
    # seconds of CPU) is not per message.
    counted_from: tuple[int, float, float] | None = None
    signal_queued_at: float | None = None
    rss_samples: list[float] = []
    rss_at_tenths: dict[str, float] = {}
    while True:
        await asyncio.sleep(POLL_S)
        if worker.returncode is not None:
            raise RuntimeError("the worker exited")
        sent = await fake.calls()
        if counted_from is None and sent:
            counted_from = (sent, cpu_s(worker.pid), cpu_s(fake.pid))
        rss_samples.append(rss_mb(worker.pid))
        for tenth in range(1, 11):
            if sent >= total * tenth / 10 and f"{10 * tenth}%" not in rss_at_tenths:
                rss_at_tenths[f"{10 * tenth}%"] = round(rss_samples[-1], 1)
        if signal_queued_at is None and sent >= total * SIGNAL_AFTER:
            async with database.transaction() as session:
                await outbox.enqueue(
                    session, SIGNAL_CHAT, SIGNAL_TEXT, priority=Priority.signal, kind="signal"
                )
            signal_queued_at = time.monotonic()
        async with database.transaction() as session:
            state = await marketing.get(session, broadcast.id)
        if state.status not in (BroadcastStatus.sending, BroadcastStatus.scheduled):
            break
    # The broadcast can be marked sent between a progress read and the next one.
    for tenth in range(1, 11):
        rss_at_tenths.setdefault(f"{10 * tenth}%", round(rss_mb(worker.pid), 1))
    assert counted_from is not None
    sent_before, worker_cpu_before, fake_cpu_before = counted_from
    counted = await fake.calls() - sent_before
    worker_cpu = cpu_s(worker.pid) - worker_cpu_before
    fake_cpu = cpu_s(fake.pid) - fake_cpu_before
    async with database.transaction() as session:
        analytics = await marketing.analytics(session, broadcast.id)
    assert signal_queued_at is not None
    return {
        "signal_queued_at": signal_queued_at,
        "rss_samples": rss_samples,
        "rss_at_tenths": rss_at_tenths,
        "worker_cpu_ms_per_message": 1000 * worker_cpu / counted,
        "worker_cpu_s": worker_cpu,
        "fake_cpu_ms_per_message": 1000 * fake_cpu / counted,
        "analytics": analytics,
    }
