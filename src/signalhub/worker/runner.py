"""The worker: periodic jobs and, when Telegram is configured, the outbox sender loop. Runs
inside `signalhub serve` in the embedded default, or alone as `signalhub worker`."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from signalhub.bot.dispatcher import create_bot
from signalhub.config import Settings
from signalhub.db import Database
from signalhub.kit.time import utcnow
from signalhub.outbox.sender import OutboxSender
from signalhub.worker.jobs import DEFAULT_LOOPS, PeriodicJob, WorkerLoop, default_jobs

logger = logging.getLogger("signalhub.worker")


class Worker:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        jobs: Sequence[PeriodicJob] | None = None,
        *,
        loops: Sequence[WorkerLoop] = DEFAULT_LOOPS,
        send_outbox: bool | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.jobs = default_jobs(settings) if jobs is None else jobs
        self.loops = loops
        self.send_outbox = settings.telegram_enabled if send_outbox is None else send_outbox

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
        tasks += [
            asyncio.create_task(loop(self.settings, self.database), name=loop.__name__)
            for loop in self.loops
        ]
        bot = create_bot(self.settings) if self.send_outbox else None
        if bot is not None:
            sender = OutboxSender(self.settings, self.database, bot)
            tasks.append(asyncio.create_task(sender.run(), name="outbox_sender"))
        logger.info(
            "worker started",
            extra={"jobs": [job.name for job in self.jobs], "outbox_sender": bot is not None},
        )
        try:
            yield
        finally:
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if bot is not None:
                await bot.session.close()
            logger.info("worker stopped")

    async def run_forever(self) -> None:
        async with self.running():
            await asyncio.Event().wait()
