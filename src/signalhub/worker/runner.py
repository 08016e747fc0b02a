"""The worker: periodic jobs (and, as features arrive, long-running loops such as the outbox
sender). Runs inside `signalhub serve` in the embedded default, or alone as `signalhub worker`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.worker.jobs import DEFAULT_JOBS, PeriodicJob

logger = logging.getLogger("signalhub.worker")


class Worker:
    def __init__(
        self, settings: Settings, database: Database, jobs: Sequence[PeriodicJob] = DEFAULT_JOBS
    ) -> None:
        self.settings = settings
        self.database = database
        self.jobs = jobs

    async def run_job(self, job: PeriodicJob) -> None:
        """The job wrapper owns the transaction: commit on success, roll back on failure."""
        try:
            async with self.database.transaction() as session:
                result = await job.run(session, utcnow())
            logger.info("job done", extra={"job": job.name, "result": result})
        except Exception:
            logger.exception("job failed", extra={"job": job.name})

    async def _every(self, job: PeriodicJob) -> None:
        while True:
            await self.run_job(job)
            await asyncio.sleep(job.interval_s)

    @asynccontextmanager
    async def running(self) -> AsyncIterator[None]:
        tasks = [asyncio.create_task(self._every(job), name=job.name) for job in self.jobs]
        logger.info("worker started", extra={"jobs": [job.name for job in self.jobs]})
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            logger.info("worker stopped")

    async def run_forever(self) -> None:
        async with self.running():
            await asyncio.Event().wait()
