from __future__ import annotations

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
from tests.helpers import eventually


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
        loops=(),
        send_outbox=False,
    )

    def failure_logged() -> bool:
        return any(record.getMessage() == "job failed" for record in caplog.records)

    async with worker.running():
        # Until the failure is logged, not merely raised: stopping the worker in between
        # would cancel the job during its rollback.
        await eventually(lambda: len(calls) >= 2 and failure_logged(), timeout_s=10)
    assert sorted(calls) == ["failing", "working"]
