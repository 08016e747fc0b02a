"""Periodic jobs, each run in its own transaction, owned and committed by the runner; and
loops, long-running tasks that own their transactions (a signal's fan-out, batch by batch)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Coroutine
from dataclasses import dataclass
from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.auth import device_flow
from signalhub.auth import service as auth
from signalhub.billing import service as billing
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.devices import service as devices
from signalhub.kit.memory import release_freed_memory
from signalhub.knowledge import service as knowledge
from signalhub.marketing import tasks as marketing
from signalhub.signals import service as signals
from signalhub.signals import tasks as signal_tasks


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_s: float
    run: Callable[[AsyncSession, datetime], Awaitable[object]]


DEFAULT_JOBS = (
    PeriodicJob("purge_expired_refresh_tokens", 3600, auth.purge_expired_refresh_tokens),
    PeriodicJob("purge_expired_login_requests", 3600, device_flow.purge_expired),
    PeriodicJob("purge_expired_idempotency_keys", 3600, billing.purge_expired_idempotency_keys),
    # Offers already stop at expiry (decisions and the sender check the time); this job
    # records it and drops the unsent requests.
    PeriodicJob("expire_signals", 5, signals.expire_due),
    PeriodicJob("purge_device_nonces", 600, devices.purge_nonces),
    PeriodicJob("purge_old_article_views", 3600, knowledge.purge_old_views),
)


WorkerLoop = Callable[[Settings, Database], Coroutine[Any, Any, None]]


def fan_out_signals(settings: Settings, database: Database) -> Coroutine[Any, Any, None]:
    return signal_tasks.fan_out_forever(database, settings.signal_fanout_batch_size)


DEFAULT_LOOPS: tuple[WorkerLoop, ...] = (fan_out_signals, release_freed_memory)


def default_jobs(settings: Settings) -> tuple[PeriodicJob, ...]:
    return (
        *DEFAULT_JOBS,
        # Every second: a scheduled broadcast starts on time and the outbox stays topped up.
        PeriodicJob("broadcasts", 1.0, partial(marketing.run_broadcasts, settings=settings)),
    )
