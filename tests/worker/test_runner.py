from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from signalhub.auth import service as auth
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.models import RefreshToken
from signalhub.worker.jobs import DEFAULT_JOBS, PeriodicJob
from signalhub.worker.runner import Worker
from tests.factories import create_user


async def test_purge_job_deletes_only_expired_refresh_tokens(
    session: AsyncSession, database: Database, settings: Settings
) -> None:
    user = await create_user(session)
    now = utcnow()
    await auth.issue_tokens(session, settings, user, now)
    await auth.issue_tokens(session, settings, user, now - timedelta(days=60))
    await session.commit()

    await Worker(settings, database).run_job(DEFAULT_JOBS[0])
    remaining = await session.scalar(
        select(func.count()).select_from(RefreshToken).where(RefreshToken.user_id == user.id)
    )
    assert remaining == 1


async def test_a_failing_job_rolls_back_and_the_worker_keeps_going(
    database: Database, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    calls: list[str] = []

    async def failing(session: AsyncSession, now: datetime) -> None:
        calls.append("failing")
        raise RuntimeError("broken job")

    async def working(session: AsyncSession, now: datetime) -> int:
        calls.append("working")
        return 1

    worker = Worker(
        settings,
        database,
        jobs=[PeriodicJob("failing", 3600, failing), PeriodicJob("working", 3600, working)],
        send_outbox=False,
    )
    async with worker.running():
        for _ in range(100):
            if len(calls) >= 2:
                break
            await asyncio.sleep(0.01)
    assert sorted(calls) == ["failing", "working"]
    assert any(record.getMessage() == "job failed" for record in caplog.records)
