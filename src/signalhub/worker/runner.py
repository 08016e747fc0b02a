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
from signalhub.signals.tasks import fan_out_forever
from signalhub.worker.jobs import DEFAULT_JOBS, PeriodicJob

logger = logging.getLogger("signalhub.worker")


class Worker:
    def __init__(
        self,
        settings: Settings,
        database: Database,
        jobs: Sequence[PeriodicJob] = DEFAULT_JOBS,
        *,
        send_outbox: bool | None = None,
    ) -> None:
        self.settings = settings
        self.database = database
        self.jobs = jobs
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
        tasks.append(
            asyncio.create_task(
                fan_out_forever(self.database, self.settings.signal_fanout_batch_size),
                name="signal_fan_out",
            )
        )
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
