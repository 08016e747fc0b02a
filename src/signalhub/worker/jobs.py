"""Periodic jobs. Each runs in its own transaction, owned and committed by the runner."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.auth import device_flow
from signalhub.auth import service as auth
from signalhub.devices import service as devices
from signalhub.signals import service as signals


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    interval_s: float
    run: Callable[[AsyncSession, datetime], Awaitable[object]]


DEFAULT_JOBS = (
    PeriodicJob("purge_expired_refresh_tokens", 3600, auth.purge_expired_refresh_tokens),
    PeriodicJob("purge_expired_login_requests", 3600, device_flow.purge_expired),
    PeriodicJob("purge_device_nonces", 600, devices.purge_nonces),
    # Offers already stop at expiry (decisions and the sender check the time); this job
    # records it and drops the unsent requests.
    PeriodicJob("expire_signals", 5, signals.expire_due),
)
